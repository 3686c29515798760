# shellcheck shell=sh
# The node table and the Sentinel queries of an HA layout. Sourced after settings.env and lib.sh.

# nth INDEX 'w0 w1 w2'
nth() {
    _n=$1
    for _w in $2; do
        if [ "$_n" -eq 0 ]; then printf '%s\n' "$_w"; return 0; fi
        _n=$((_n - 1))
    done
    return 1
}

# Ordinal from $ORDINAL_VAR, else from a StatefulSet HOSTNAME such as redis-node-2.
node_ordinal() {
    if [ -n "$ORDINAL_SETTING" ]; then
        _o=$ORDINAL_SETTING; _src="$ORDINAL_VAR=$ORDINAL_SETTING"
    else
        # shellcheck disable=SC3028 # Kubernetes puts HOSTNAME in every container's environment
        _hn="${HOSTNAME:-}"
        [ -n "$_hn" ] || _hn=$(hostname 2>/dev/null || true)
        _o=${_hn##*-}; _src="HOSTNAME=$_hn"
    fi
    case "$_o" in
        ''|*[!0-9]*) log "ERROR: cannot derive the node ordinal from $_src: set $ORDINAL_VAR or use a HOSTNAME ending in -<ordinal>"; return 1 ;;
    esac
    while [ "${#_o}" -gt 1 ] && [ "${_o#0}" != "$_o" ]; do _o=${_o#0}; done
    if [ "$_o" -ge "$NODE_COUNT" ]; then
        log "ERROR: ordinal $_o ($_src) is out of range: the layout has $NODE_COUNT node(s)"
        return 1
    fi
    printf '%s\n' "$_o"
}

is_self() { [ "$1" = "$MY_HOST" ] && [ "$2" = "$MY_PORT" ]; }

# One "host port config-epoch" line per Sentinel that answers: the master it names, and the
# epoch of the configuration that made it master (a failover raises it).
sentinel_answers() {
    _i=0
    while [ "$_i" -lt "$NODE_COUNT" ]; do
        _sh=$(nth "$_i" "$NODE_HOSTS"); _sp=$(nth "$_i" "$NODE_SENTINEL_PORTS")
        rcli "$_sh" "$_sp" SENTINEL master "$MASTER_NAME" | tr -d '\r' | awk '
            NR % 2 == 1 { key = $0; next }
            key == "ip" { host = $0 }
            key == "port" { port = $0 }
            key == "config-epoch" { epoch = $0 }
            END { if (host != "" && port ~ /^[0-9]+$/) printf "%s %s %s\n", host, port, (epoch ~ /^[0-9]+$/ ? epoch : 0) }'
        _i=$((_i + 1))
    done
}

# "host port votes epoch" of the master most Sentinels name; fails when none answers.
sentinel_master() {
    _answers=$(sentinel_answers)
    [ -n "$_answers" ] || return 1
    printf '%s\n' "$_answers" | awk '
        { key = $1 " " $2; votes[key]++; if (!(key in epoch) || $3 > epoch[key]) epoch[key] = $3 }
        END { for (k in votes) if (votes[k] > best || (votes[k] == best && epoch[k] > bestEpoch)) { best = votes[k]; bestEpoch = epoch[k]; top = k }
              printf "%s %d %d\n", top, best, bestEpoch }'
}

# "host port epoch" of the newest configuration any answering Sentinel holds; fails when none answers.
sentinel_newest() {
    _answers=$(sentinel_answers)
    [ -n "$_answers" ] || return 1
    printf '%s\n' "$_answers" | sort -k3,3n | tail -n 1
}
