#!/usr/bin/env bash
# Fault drill on the deployed e2e stack. While `npm run smoke -- --watch` drives the sidecar
# journey and writes one tagged rule per round, it force-deletes (no grace period, no preStop
# hook: like a node crash) the Redis master pod, then a controller pod, then a registry pod,
# waiting for each replacement to be ready before the next fault. The smoke tool's Markdown
# report (failed and wrong answers per step, acknowledged writes lost) and the fault timeline go
# to <report.md>. Exit status: the smoke tool's (1 when an acknowledged write was lost or the
# control plane did not answer correctly at the end), or 1 when a fault could not be injected.
#   tools/e2e/drill.sh <report.md>        (DRILL_SECONDS, default 300: length of the traffic)
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=tools/e2e/common.sh
. tools/e2e/common.sh

report=${1:?usage: tools/e2e/drill.sh <report.md>}
seconds=${DRILL_SECONDS:-300}
settle=20
ns=$(pulumi stack output namespace --stack "$E2E_STACK")
k=(kubectl --namespace "$ns" --request-timeout "$E2E_KUBECTL_TIMEOUT")
smoke_out=$(mktemp)
timeline=$(mktemp)
started=$(date +%s)

# The smoke run leads its own process group so that everything it started stops with it.
setsid npm run --silent smoke -- --stack "$E2E_STACK" --watch "$seconds" --markdown > "$smoke_out" &
smoke=$!
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
    kill -- "-$smoke" 2>/dev/null || true
    rm -f "$smoke_out" "$timeline"
}
trap cleanup EXIT

note() {
    printf -- '- +%ss: %s\n' "$(( $(date +%s) - started ))" "$*" >> "$timeline"
    e2e_log "$*"
}

# The pod whose Redis reports role:master (the password stays inside the pod).
redis_master() {
    local pod
    for pod in $("${k[@]}" get pods -l app.kubernetes.io/name=redis-node -o jsonpath='{.items[*].metadata.name}'); do
        # shellcheck disable=SC2016 # expanded by the pod's shell
        if "${k[@]}" exec "$pod" -c redis -- sh -c 'REDISCLI_AUTH="$(cat /etc/redis-auth/password)" redis-cli -p 6379 info replication' \
            2>/dev/null | grep -q '^role:master'; then
            echo "$pod"
            return 0
        fi
    done
    return 1
}

# Force-deletes one pod and waits until every pod of its workload is ready again.
crash() {
    local name=$1 pod=$2
    kill -0 "$smoke" 2>/dev/null || { echo "error: the smoke traffic ended before the $name fault: raise DRILL_SECONDS" >&2; exit 1; }
    note "force-deleting $name pod $pod"
    "${k[@]}" delete pod "$pod" --force --grace-period 0 --wait=false
    sleep 2
    "${k[@]}" wait --for condition=Ready pod -l "app.kubernetes.io/name=$name" --timeout "$E2E_READY_TIMEOUT"
    note "every $name pod ready again"
}

sleep "$settle"
master=$(redis_master) || { echo "error: no Redis node of $ns reports role:master" >&2; exit 1; }
crash redis-node "$master"
note "Redis master now: $(redis_master || echo none)"
for workload in controller registry; do
    sleep "$settle"
    crash "$workload" "$("${k[@]}" get pods -l "app.kubernetes.io/name=$workload" -o jsonpath='{.items[0].metadata.name}')"
done

status=0
wait "$smoke" || status=$?
{
    echo "## Fault drill on kind ($seconds s of sidecar traffic)"
    echo
    cat "$timeline"
    echo
    cat "$smoke_out"
} > "$report"
cat "$report"
exit "$status"
