# shellcheck shell=sh
# Shared by every Redis script: logging, the bounded redis-cli call and the password check.
# Sourced after settings.env, which holds the values generated from the layout.

# Runtime copies hold the password.
umask 077
REDIS_PASSWORD=''

log() { printf '%s %s: %s\n' "$(date '+%Y-%m-%dT%H:%M:%S')" "$SCRIPT_NAME" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
now() { date +%s; }

# rcli HOST PORT ARGS...: one bounded redis-cli call, password from the environment, no stderr.
if command -v timeout >/dev/null 2>&1; then
    rcli() { _h=$1; _p=$2; shift 2; REDISCLI_AUTH="$REDIS_PASSWORD" timeout "$CLI_TIMEOUT" redis-cli -h "$_h" -p "$_p" "$@" 2>/dev/null; }
else
    rcli() { _h=$1; _p=$2; shift 2; REDISCLI_AUTH="$REDIS_PASSWORD" redis-cli -h "$_h" -p "$_p" "$@" 2>/dev/null; }
fi

# require_commands CMD...: stops at once when the image lacks redis-cli or one of them; a script
# that decides a node's role from their output must not read a missing tool as "no answer".
require_commands() {
    for _c in redis-cli "$@"; do
        command -v "$_c" >/dev/null 2>&1 || die "the image has no $_c (this script needs: redis-cli $*)"
    done
}

load_password() {
    [ -r "$PASSWORD_FILE" ] || die "cannot read the password file $PASSWORD_FILE (mount the Secret there or set $PASSWORD_FILE_VAR)"
    REDIS_PASSWORD=$(cat "$PASSWORD_FILE") || die "cannot read the password file $PASSWORD_FILE"
    [ -n "$REDIS_PASSWORD" ] || die "the password file $PASSWORD_FILE is empty"
    case "$REDIS_PASSWORD" in
        *[!A-Za-z0-9._~+/=@:,-]*) die "the password in $PASSWORD_FILE has unsupported characters (allowed: letters, digits and ._~+/=@:,-)" ;;
    esac
}

# template_line LINE: prints a template line without the placeholder; a script that must
# change other lines (init.sh: `sentinel monitor`) redefines it.
template_line() { printf '%s\n' "$1"; }

# render_template FILE: prints the template FILE with the password in place of the placeholder.
render_template() {
    [ -r "$1" ] || die "template $1 not found (mount the rendered files at $TEMPLATE_DIR or set $TEMPLATE_DIR_VAR)"
    while IFS= read -r _line || [ -n "$_line" ]; do
        case "$_line" in
            *"$PASSWORD_PLACEHOLDER"*) printf '%s%s%s\n' "${_line%%"$PASSWORD_PLACEHOLDER"*}" "$REDIS_PASSWORD" "${_line#*"$PASSWORD_PLACEHOLDER"}" ;;
            *) template_line "$_line" ;;
        esac
    done < "$1"
}
