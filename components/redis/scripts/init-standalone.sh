#!/bin/sh
# Writes the runtime redis.conf of a standalone Redis (no Sentinel, always master).
# Installed as init.sh of the standalone shape.
# shellcheck source-path=SCRIPTDIR
set -u
SCRIPT_NAME=init.sh
SCRIPT_DIR=$(dirname "$0")
# shellcheck source=/dev/null
. "$SCRIPT_DIR/settings.env"
. "$SCRIPT_DIR/lib.sh"

[ "$#" -eq 0 ] || [ "$*" = redis ] || die "unknown argument '$1' (usage: $SCRIPT_NAME [redis])"
load_password
mkdir -p "$CONFIG_DIR" "$DATA_DIR" || die "cannot create $CONFIG_DIR or $DATA_DIR"
_dst="$CONFIG_DIR/$REDIS_CONF"
_tmp="$_dst.tmp.$$"
render_template "$TEMPLATE_DIR/$REDIS_CONF" > "$_tmp" || die "cannot write $_tmp"
{
    echo ''
    echo '# Node-specific settings written by init.sh.'
    echo "port $REDIS_PORT"
    echo "dir \"$DATA_DIR\""
} >> "$_tmp" || die "cannot write $_tmp"
mv -f "$_tmp" "$_dst" || die "cannot write $_dst"
log "wrote $_dst"
exit 0
