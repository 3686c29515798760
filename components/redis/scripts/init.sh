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

# "host port epoch" of the master this node's Sentinel last knew: the runtime sentinel.conf, which
# Sentinel rewrites at every failover, is on the data volume and outlives the pod.
persisted_view() {
    [ -r "$CONFIG_DIR/$SENTINEL_CONF" ] || return 1
    awk -v name="$MASTER_NAME" '
        $1 == "sentinel" && $2 == "monitor" && $3 == name { host = $4; port = $5 }
        $1 == "sentinel" && $2 == "config-epoch" && $3 == name { epoch = $4 }
        END { if (host == "" || port !~ /^[0-9]+$/) exit 1; printf "%s %s %d\n", host, port, epoch + 0 }' "$CONFIG_DIR/$SENTINEL_CONF"
}

# Sets MASTER_HOST, MASTER_PORT, MASTER_SOURCE: the master a majority of Sentinels name; else
# (a cold start, or most Sentinels down) the newest configuration that an answering Sentinel or
# this node's own Sentinel file holds, which names the last master they elected; else a peer
# reporting role:master; else node 0 (a new cluster).
decide_master() {
    if _m=$(sentinel_master); then
        # shellcheck disable=SC2086 # split "host port votes epoch" into $1 $2 $3 $4
        set -- $_m
        if [ "$3" -ge "$QUORUM" ]; then
            MASTER_HOST=$1; MASTER_PORT=$2; MASTER_SOURCE="sentinels ($3 agree)"
            return 0
        fi
    fi
    _view=''
    if _live=$(sentinel_newest); then _view="$_live an answering Sentinel"; fi
    if _own=$(persisted_view); then
        # shellcheck disable=SC2086 # split "host port epoch" into $1 $2 $3
        set -- $_own
        _own_epoch=$3
        if [ -z "$_view" ]; then
            _view="$_own this node's sentinel.conf"
        else
            # shellcheck disable=SC2086 # split "host port epoch source" into $1 $2 $3 ...
            set -- $_view
            [ "$_own_epoch" -le "$3" ] || _view="$_own this node's sentinel.conf"
        fi
    fi
    if [ -n "$_view" ]; then
        # shellcheck disable=SC2086 # split "host port epoch source..." into $1 $2 $3 $4...
        set -- $_view
        MASTER_HOST=$1; MASTER_PORT=$2; _epoch=$3; shift 3
        MASTER_SOURCE="the newest Sentinel configuration (epoch $_epoch, from $*)"
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

# Whether a peer replicates this node and was linked to it since the peer started. A replica
# restarted in a cold start never was (master_link_down_since_seconds:-1): that is no sign that
# this node went away under its replicas.
peers_linked_to_me() {
    _i=0
    while [ "$_i" -lt "$NODE_COUNT" ]; do
        if [ "$_i" -ne "$ORDINAL" ]; then
            _info=$(rcli "$(nth "$_i" "$NODE_HOSTS")" "$(nth "$_i" "$NODE_REDIS_PORTS")" INFO replication | tr -d '\r')
            if printf '%s\n' "$_info" | grep -q '^role:slave' &&
                printf '%s\n' "$_info" | grep -Eq '^(master_link_status:up|master_link_down_since_seconds:[0-9])'; then
                return 0
            fi
        fi
        _i=$((_i + 1))
    done
    return 1
}

# How many nodes answer PING, this one included (it is about to start).
nodes_answering() {
    _n=1
    _i=0
    while [ "$_i" -lt "$NODE_COUNT" ]; do
        if [ "$_i" -ne "$ORDINAL" ] &&
            [ "$(rcli "$(nth "$_i" "$NODE_HOSTS")" "$(nth "$_i" "$NODE_REDIS_PORTS")" PING)" = PONG ]; then
            _n=$((_n + 1))
        fi
        _i=$((_i + 1))
    done
    printf '%s\n' "$_n"
}

# A node without data cannot tell a new cluster from one whose nodes with data are still down
# (a cold start): it becomes master only once a majority of nodes answer, and none holds data.
wait_for_majority_of_nodes() {
    _deadline=$(( $(now) + EMPTY_MASTER_WAIT_SECONDS ))
    _logged=0
    while :; do
        _up=$(nodes_answering)
        if [ "$_up" -ge "$QUORUM" ] || peers_have_data; then return 0; fi
        [ "$(now)" -lt "$_deadline" ] || break
        if [ "$_logged" -eq 0 ]; then
            log "this node has no data and $_up of $NODE_COUNT nodes answer: waiting up to ${EMPTY_MASTER_WAIT_SECONDS}s for $QUORUM, to tell a new cluster from a cold start"
            _logged=1
        fi
        sleep 1
    done
    die "this node has no data and only $_up of $NODE_COUNT nodes answered within ${EMPTY_MASTER_WAIT_SECONDS}s: refusing to start as master (a new cluster starts its nodes together; after a cold start, start the nodes that have the data)"
}

# A node that is to start as master must not take that role over peers that hold the data: an
# empty node would wipe them (their full resync), and a node that crashed and was restarted
# before Sentinel noticed (the kubelet restarts a crashed container at once) replays an AOF up to a
# second behind what its replicas have, which their resync would then discard along with every
# write acknowledged meanwhile. Either waits, down, for Sentinel to promote a replica, and gives
# up (the container restarts) rather than start as that master.
guard_stale_master() {
    if has_local_data; then
        peers_linked_to_me || return 0
        _why='it restarted before they noticed and peers replicate it'
    else
        wait_for_majority_of_nodes
        peers_have_data || return 0
        _why='it has no data and peers do'
    fi
    case "$MASTER_SOURCE" in
        sentinels*) ;;
        *)
            has_local_data && return 0
            die "this node has no data, peers do, and no majority of Sentinels answered: refusing to start as master (start the Sentinels, or the node that has the newest data)" ;;
    esac
    log "Sentinels name this node as master, but $_why: waiting up to ${EMPTY_MASTER_WAIT_SECONDS}s for a failover"
    _deadline=$(( $(now) + EMPTY_MASTER_WAIT_SECONDS ))
    while [ "$(now)" -lt "$_deadline" ]; do
        sleep 1
        if _m=$(sentinel_master); then
            # shellcheck disable=SC2086 # split "host port votes epoch" into $1 $2 $3 $4
            set -- $_m
            if ! is_self "$1" "$2" && [ "$3" -ge "$QUORUM" ]; then
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
    # Keep this Sentinel's identity across restarts; never take another Sentinel's. Its epoch, and
    # while it monitors the same master the state it learnt (the Sentinels and replicas it knows),
    # stay too: in a cold start the master may be down, and that state is how the Sentinels find
    # each other and agree on what they knew before.
    _myid=''
    _state=''
    if [ -f "$_dst" ]; then
        _myid=$(sed -n 's/^sentinel myid \([0-9a-f]\{40\}\)$/\1/p' "$_dst" | head -n 1)
        _state=$(grep '^sentinel current-epoch [0-9][0-9]*$' "$_dst" | head -n 1)
        if _old=$(persisted_view); then
            # shellcheck disable=SC2086 # split "host port epoch" into $1 $2 $3
            set -- $_old
            if [ "$1" = "$MASTER_HOST" ] && [ "$2" = "$MASTER_PORT" ]; then
                _state=$(printf '%s\n' "$_state"; grep -E "^sentinel (config-epoch|leader-epoch|known-replica|known-sentinel) $MASTER_NAME " "$_dst")
            fi
        fi
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
        if [ -n "$_state" ]; then printf '%s\n' "$_state" | grep -v '^$'; fi
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

require_commands awk sed grep sort head tail tr
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
