#!/bin/sh
# preStop hook of the redis-server container. On the master: pause writes, let the replicas
# catch up, have a Sentinel fail over, wait (bounded) until another node is master.
# Without the pause, writes acknowledged during the switch are lost.
# shellcheck source-path=SCRIPTDIR
set -u
SCRIPT_NAME=prestop.sh
SCRIPT_DIR=$(dirname "$0")
# shellcheck source=/dev/null
. "$SCRIPT_DIR/settings.env"
. "$SCRIPT_DIR/lib.sh"
. "$SCRIPT_DIR/cluster.sh"

load_password
ORDINAL=$(node_ordinal) || exit 0
MY_HOST=$(nth "$ORDINAL" "$NODE_HOSTS")
MY_PORT=$(nth "$ORDINAL" "$NODE_REDIS_PORTS")

field() { printf '%s\n' "$1" | tr -d '\r' | sed -n "s/^$2:\\(.*\\)$/\\1/p" | head -n 1; }

INFO=$(rcli "$LOCAL_HOST" "$MY_PORT" INFO replication) || INFO=''
[ "$(field "$INFO" role)" = master ] || { log "not the master: nothing to do"; exit 0; }
REPLICAS=$(field "$INFO" connected_slaves)
case "$REPLICAS" in ''|0|*[!0-9]*) log "master without replicas: no failover possible"; exit 0 ;; esac

# Hold writes until the pod is gone: anything written from now on could be lost by the switch.
[ "$(rcli "$LOCAL_HOST" "$MY_PORT" CLIENT PAUSE "$PRESTOP_PAUSE_MS" WRITE)" = OK ] || log "WARNING: CLIENT PAUSE failed"
unpause() { rcli "$LOCAL_HOST" "$MY_PORT" CLIENT UNPAUSE >/dev/null; }

# The replica Sentinel promotes must hold every write made before the pause. Ask the replicas
# themselves: the offsets the master knows lag by up to a second.
INFO=$(rcli "$LOCAL_HOST" "$MY_PORT" INFO replication) || INFO=''
_target=$(field "$INFO" master_repl_offset)
_replicas=$(printf '%s\n' "$INFO" | tr -d '\r' | sed -n 's/^slave[0-9]*:ip=\([^,]*\),port=\([0-9]*\),.*/\1 \2/p')
_deadline=$(( $(now) + PRESTOP_CATCH_UP_SECONDS ))
while :; do
    _behind=0
    while read -r _rh _rp; do
        [ -n "$_rh" ] || continue
        _ro=$(field "$(rcli "$_rh" "$_rp" INFO replication)" slave_repl_offset)
        case "$_ro:$_target" in
            *[!0-9:]*|:*|*:) _behind=$((_behind + 1)) ;;
            *) [ "$_ro" -ge "$_target" ] || _behind=$((_behind + 1)) ;;
        esac
    done <<EOF_REPLICAS
$_replicas
EOF_REPLICAS
    [ "$_behind" -eq 0 ] && break
    [ "$(now)" -lt "$_deadline" ] || { log "WARNING: $_behind replica(s) still behind after ${PRESTOP_CATCH_UP_SECONDS}s"; break; }
    sleep 0.05
done

# Prefer a Sentinel on another node: this pod's own Sentinel is being stopped too.
_asked=''
for _i in $(_j=0; while [ "$_j" -lt "$NODE_COUNT" ]; do [ "$_j" -ne "$ORDINAL" ] && echo "$_j"; _j=$((_j + 1)); done) "$ORDINAL"; do
    _out=$(rcli "$(nth "$_i" "$NODE_HOSTS")" "$(nth "$_i" "$NODE_SENTINEL_PORTS")" SENTINEL FAILOVER "$MASTER_NAME") || _out=''
    if [ "$_out" = OK ]; then _asked=$_i; break; fi
    log "Sentinel $_i refused the failover: ${_out:-no answer}"
done
if [ -z "$_asked" ]; then
    log "no Sentinel accepted the failover: resuming writes"
    unpause
    exit 0
fi
log "Sentinel $_asked is failing over $MASTER_NAME"

# Done once a majority of Sentinels (what HAProxy follows) names another node.
_deadline=$(( $(now) + PRESTOP_FAILOVER_WAIT_SECONDS ))
while [ "$(now)" -lt "$_deadline" ]; do
    if _m=$(sentinel_master); then
        # shellcheck disable=SC2086 # split "host port votes" into $1 $2 $3
        set -- $_m
        if ! is_self "$1" "$2" && [ "$3" -ge "$QUORUM" ]; then
            log "new master $1:$2 ($3 Sentinels agree)"
            # Paused clients would wait for the shutdown; let them reconnect to the new master now.
            # Their paused writes are dropped, never applied here.
            rcli "$LOCAL_HOST" "$MY_PORT" CLIENT KILL TYPE normal >/dev/null
            exit 0
        fi
    fi
    sleep 0.2
done
log "WARNING: no new master after ${PRESTOP_FAILOVER_WAIT_SECONDS}s: resuming writes"
unpause
exit 0
