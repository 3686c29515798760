#!/bin/sh
# Container entrypoint of redis-server: decides the role (init.sh redis), then execs redis-server.
# shellcheck source-path=SCRIPTDIR
set -u
SCRIPT_NAME=start-redis.sh
SCRIPT_DIR=$(dirname "$0")
# shellcheck source=/dev/null
. "$SCRIPT_DIR/settings.env"
. "$SCRIPT_DIR/lib.sh"

sh "$TEMPLATE_DIR/$INIT_SCRIPT" redis || exit 1
CONF="$CONFIG_DIR/$REDIS_CONF"

# Once the first sync is complete the replica may be promoted: give it its real priority.
raise_priority_when_synced() {
    _redis_pid=$1
    _deadline=$(( $(now) + REPLICA_SYNC_WAIT_SECONDS ))
    while [ "$(now)" -lt "$_deadline" ]; do
        sleep 1
        kill -0 "$_redis_pid" 2>/dev/null || return 0
        _info=$(rcli "$LOCAL_HOST" "$MY_PORT" INFO replication) || continue
        if printf '%s\n' "$_info" | grep -q '^role:master' || {
            printf '%s\n' "$_info" | grep -q '^master_link_status:up' &&
            printf '%s\n' "$_info" | grep -q '^master_sync_in_progress:0'
        }; then
            if [ "$(rcli "$LOCAL_HOST" "$MY_PORT" CONFIG SET replica-priority "$REPLICA_PRIORITY")" = OK ]; then
                log "first sync done: replica-priority $REPLICA_PRIORITY"
                return 0
            fi
        fi
    done
    log "WARNING: no completed sync within ${REPLICA_SYNC_WAIT_SECONDS}s: replica-priority stays 0 (never promoted) until the next restart"
}

# Only a replica of an HA layout starts unpromotable (init.sh writes replica-priority 0).
if grep -q '^replica-priority 0$' "$CONF"; then
    . "$SCRIPT_DIR/cluster.sh"
    load_password
    ORDINAL=$(node_ordinal) || exit 1
    MY_PORT=$(nth "$ORDINAL" "$NODE_REDIS_PORTS")
    # $$ is this shell, which becomes redis-server at the exec below.
    raise_priority_when_synced "$$" &
fi

exec redis-server "$CONF"
