#!/bin/sh
# Container entrypoint of Sentinel: writes its runtime config (init.sh sentinel), then execs Sentinel.
# shellcheck source-path=SCRIPTDIR
set -u
SCRIPT_NAME=start-sentinel.sh
SCRIPT_DIR=$(dirname "$0")
# shellcheck source=/dev/null
. "$SCRIPT_DIR/settings.env"
. "$SCRIPT_DIR/lib.sh"

sh "$TEMPLATE_DIR/$INIT_SCRIPT" sentinel || exit 1
if command -v redis-sentinel >/dev/null 2>&1; then
    exec redis-sentinel "$CONFIG_DIR/$SENTINEL_CONF"
fi
exec redis-server "$CONFIG_DIR/$SENTINEL_CONF" --sentinel
