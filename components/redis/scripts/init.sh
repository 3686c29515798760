#!/bin/sh
# Decides whether this node starts as master or replica and writes the runtime configs.
# Usage: init.sh [redis] [sentinel]   (default: both)
# shellcheck source-path=SCRIPTDIR
set -u
SCRIPT_NAME=init.sh
SCRIPT_DIR=$(dirname "$0")
# shellcheck source=/dev/null
. "$SCRIPT_DIR/settings.env"
. "$SCRIPT_DIR/lib.sh"
. "$SCRIPT_DIR/cluster.sh"

has_local_data() {
    [ -s "$DATA_DIR/appendonlydir/appendonly.aof.manifest" ] || [ -s "$DATA_DIR/dump.rdb" ]
}

# Whether another node is up and its INFO <section> has a line matching <pattern>.
any_peer_reports() {
    _i=0
    while [ "$_i" -lt "$NODE_COUNT" ]; do
        if [ "$_i" -ne "$ORDINAL" ]; then
            if rcli "$(nth "$_i" "$NODE_HOSTS")" "$(nth "$_i" "$NODE_REDIS_PORTS")" INFO "$1" | grep -q "$2"; then
                return 0
            fi
        fi
        _i=$((_i + 1))
    done
    return 1
}

# Whether another node is up and holds keys.
peers_have_data() {
    any_peer_reports keyspace '^db[0-9]*:keys=[1-9]'
}

# "host port" of another node that is up and reports role:master.
peer_master() {
    _i=0
    while [ "$_i" -lt "$NODE_COUNT" ]; do
        if [ "$_i" -ne "$ORDINAL" ]; then
            _ph=$(nth "$_i" "$NODE_HOSTS"); _pp=$(nth "$_i" "$NODE_REDIS_PORTS")
            if rcli "$_ph" "$_pp" INFO replication | grep -q '^role:master'; then
                printf '%s %s\n' "$_ph" "$_pp"
                return 0
            fi
        fi
        _i=$((_i + 1))
    done
    return 1
}

# Sets MASTER_HOST, MASTER_PORT, MASTER_SOURCE: the Sentinels' answer, else a peer that is
# master, else node 0 (a fresh cluster).
decide_master() {
    if _m=$(sentinel_master); then
        # shellcheck disable=SC2086 # split "host port votes" into $1 $2 $3
        set -- $_m
        MASTER_HOST=$1; MASTER_PORT=$2; MASTER_SOURCE="sentinels ($3 agree)"
        return 0
    fi
    if _m=$(peer_master); then
        # shellcheck disable=SC2086 # split "host port" into $1 $2
        set -- $_m
        MASTER_HOST=$1; MASTER_PORT=$2; MASTER_SOURCE='a peer reporting role:master (no Sentinel answered)'
        return 0
    fi
    MASTER_HOST=$(nth 0 "$NODE_HOSTS"); MASTER_PORT=$(nth 0 "$NODE_REDIS_PORTS")
    MASTER_SOURCE='default: node 0 (no Sentinel and no master answered)'
}

# Whether another node is up and a replica (of this node, until Sentinel says otherwise).
peers_replicating() {
    any_peer_reports replication '^role:slave'
}

# A node that the Sentinels still name as master when it starts must not take that role back over
# peers that hold the data: an empty node would wipe them (their full resync), and a node that
# crashed and was restarted before Sentinel noticed (the kubelet restarts a crashed container at
# once) replays an AOF up to a second behind what its replicas have, which their resync would
# then discard along with every write acknowledged meanwhile. Either waits, down, for Sentinel
# to promote a replica, and gives up (the container restarts) rather than start as that master.
guard_stale_master() {
    if has_local_data; then
        peers_replicating || return 0
        _why='it restarted before they noticed and peers replicate it'
    else
        peers_have_data || return 0
        _why='it has no data and peers do'
    fi
    case "$MASTER_SOURCE" in
        sentinels*) ;;
        *)
            has_local_data && return 0
            die "this node has no data, peers do, and no Sentinel answered: refusing to start as master (start the Sentinels, or restart a node that has the data first)" ;;
    esac
    log "Sentinels name this node as master, but $_why: waiting up to ${EMPTY_MASTER_WAIT_SECONDS}s for a failover"
    _deadline=$(( $(now) + EMPTY_MASTER_WAIT_SECONDS ))
    while [ "$(now)" -lt "$_deadline" ]; do
        sleep 1
        if _m=$(sentinel_master); then
            # shellcheck disable=SC2086 # split "host port votes" into $1 $2 $3
            set -- $_m
            if ! is_self "$1" "$2"; then
                MASTER_HOST=$1; MASTER_PORT=$2; MASTER_SOURCE="sentinels ($3 agree) after failover"
                return 0
            fi
        fi
    done
    die "Sentinels still name this node as master after ${EMPTY_MASTER_WAIT_SECONDS}s, but $_why: refusing to start as that master"
}

# Templates are rendered with `sentinel monitor` pointing at the current master.
template_line() {
    case "$1" in
        "sentinel monitor $MASTER_NAME "*)
            printf 'sentinel monitor %s %s %s %s\n' "$MASTER_NAME" "$MASTER_HOST" "$MASTER_PORT" "$QUORUM" ;;
        *)
            printf '%s\n' "$1" ;;
    esac
}

write_redis_conf() {
    _dst="$CONFIG_DIR/$REDIS_CONF"
    _tmp="$_dst.tmp.$$"
    render_template "$TEMPLATE_DIR/$REDIS_CONF" > "$_tmp"
    {
        echo ''
        echo "# Node-specific settings written by init.sh: ordinal $ORDINAL, $ROLE ($MASTER_SOURCE)."
        echo "port $MY_PORT"
        echo "dir \"$DATA_DIR\""
        echo "replica-announce-ip $MY_HOST"
        echo "replica-announce-port $MY_PORT"
        if [ "$ROLE" = replica ]; then
            echo "replicaof $MASTER_HOST $MASTER_PORT"
            # Never promoted before its first sync completes; start-redis.sh raises it then.
            echo "replica-priority 0"
        fi
    } >> "$_tmp" || die "cannot write $_tmp"
    mv -f "$_tmp" "$_dst" || die "cannot write $_dst"
    log "wrote $_dst: $ROLE, master $MASTER_HOST:$MASTER_PORT from $MASTER_SOURCE"
}

write_sentinel_conf() {
    _dst="$CONFIG_DIR/$SENTINEL_CONF"
    _tmp="$_dst.tmp.$$"
    # Keep this Sentinel's identity across restarts; never take another Sentinel's.
    _myid=''
    if [ -f "$_dst" ]; then
        _myid=$(sed -n 's/^sentinel myid \([0-9a-f]\{40\}\)$/\1/p' "$_dst" | head -n 1)
    fi
    render_template "$TEMPLATE_DIR/$SENTINEL_CONF" > "$_tmp"
    {
        echo ''
        echo "# Node-specific settings written by init.sh: ordinal $ORDINAL."
        echo "port $MY_SENTINEL_PORT"
        echo "dir \"$CONFIG_DIR\""
        echo "sentinel announce-ip $MY_HOST"
        echo "sentinel announce-port $MY_SENTINEL_PORT"
        if [ -n "$_myid" ]; then echo "sentinel myid $_myid"; fi
    } >> "$_tmp" || die "cannot write $_tmp"
    mv -f "$_tmp" "$_dst" || die "cannot write $_dst"
    log "wrote $_dst: monitoring $MASTER_HOST:$MASTER_PORT from $MASTER_SOURCE"
}

WANT_REDIS=0
WANT_SENTINEL=0
[ "$#" -gt 0 ] || set -- redis sentinel
for _arg in "$@"; do
    case "$_arg" in
        redis) WANT_REDIS=1 ;;
        sentinel) WANT_SENTINEL=1 ;;
        *) die "unknown argument '$_arg' (usage: $SCRIPT_NAME [redis] [sentinel])" ;;
    esac
done

load_password
ORDINAL=$(node_ordinal) || exit 1
MY_HOST=$(nth "$ORDINAL" "$NODE_HOSTS")
MY_PORT=$(nth "$ORDINAL" "$NODE_REDIS_PORTS")
MY_SENTINEL_PORT=$(nth "$ORDINAL" "$NODE_SENTINEL_PORTS")
mkdir -p "$CONFIG_DIR" "$DATA_DIR" || die "cannot create $CONFIG_DIR or $DATA_DIR"
[ -w "$CONFIG_DIR" ] || die "$CONFIG_DIR is not writable (Redis and Sentinel rewrite their runtime config)"

decide_master
ROLE=replica
if is_self "$MASTER_HOST" "$MASTER_PORT"; then
    ROLE=master
    if [ "$WANT_REDIS" -eq 1 ]; then
        guard_stale_master
        is_self "$MASTER_HOST" "$MASTER_PORT" || ROLE=replica
    fi
fi

if [ "$WANT_REDIS" -eq 1 ]; then write_redis_conf; fi
if [ "$WANT_SENTINEL" -eq 1 ]; then write_sentinel_conf; fi
exit 0
