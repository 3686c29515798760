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

# One "host port" line per Sentinel that answers.
sentinel_answers() {
    _i=0
    while [ "$_i" -lt "$NODE_COUNT" ]; do
        _sh=$(nth "$_i" "$NODE_HOSTS"); _sp=$(nth "$_i" "$NODE_SENTINEL_PORTS")
        _out=$(rcli "$_sh" "$_sp" SENTINEL get-master-addr-by-name "$MASTER_NAME") || _out=''
        _mh=$(printf '%s\n' "$_out" | sed -n '1p' | tr -d '\r')
        _mp=$(printf '%s\n' "$_out" | sed -n '2p' | tr -d '\r')
        case "$_mp" in
            ''|*[!0-9]*) ;;
            *) if [ -n "$_mh" ]; then printf '%s %s\n' "$_mh" "$_mp"; fi ;;
        esac
        _i=$((_i + 1))
    done
}

# "host port votes" of the master most Sentinels name; fails when none answers.
sentinel_master() {
    _answers=$(sentinel_answers)
    [ -n "$_answers" ] || return 1
    printf '%s\n' "$_answers" | sort | uniq -c | sort -rn | head -n 1 | {
        read -r _c _h _p
        printf '%s %s %s\n' "$_h" "$_p" "$_c"
    }
}
