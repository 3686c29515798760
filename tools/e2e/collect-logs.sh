#!/usr/bin/env bash
# Writes what explains a failed e2e run into a folder: events of every namespace, the objects
# and their descriptions, and the current and previous logs of every container of the stack.
#   tools/e2e/collect-logs.sh <dir> [namespace]
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 2
# shellcheck source=tools/e2e/common.sh
. tools/e2e/common.sh

dir=${1:?usage: tools/e2e/collect-logs.sh <dir> [namespace]}
# The stack's namespace: from its outputs, or from the stack file when the deploy never finished.
ns=${2:-$(pulumi stack output namespace --stack "$E2E_STACK" 2>/dev/null \
    || sed -n 's/^ *a8-control-plane:namespace: *//p' "$E2E_STACK_FILE")}
mkdir -p "$dir/logs"
k=(kubectl --request-timeout "$E2E_KUBECTL_TIMEOUT")

"${k[@]}" get events --all-namespaces --sort-by .lastTimestamp > "$dir/events.txt" 2>&1
"${k[@]}" get nodes,pods,services,endpoints,pvc --all-namespaces --output wide > "$dir/objects.txt" 2>&1
"${k[@]}" --namespace "$ns" describe pods,deployments,statefulsets,pvc > "$dir/describe.txt" 2>&1
for pod in $("${k[@]}" --namespace "$ns" get pods --output jsonpath='{.items[*].metadata.name}' 2>/dev/null); do
    "${k[@]}" --namespace "$ns" logs "$pod" --all-containers --prefix --timestamps > "$dir/logs/$pod.log" 2>&1
    "${k[@]}" --namespace "$ns" logs "$pod" --all-containers --prefix --timestamps --previous > "$dir/logs/$pod.previous.log" 2>/dev/null \
        || rm -f "$dir/logs/$pod.previous.log"
done
e2e_log "diagnostics written to $dir"
