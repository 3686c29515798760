#!/usr/bin/env bash
# The whole of .github/workflows/e2e.yml on a workstation with Docker, kind, kubectl and the
# Pulumi CLI: a fresh kind cluster, a Pulumi backend in a temp folder, deploy, smoke test, fault
# drill, destroy. Nothing outside the temp folder and the kind cluster a8-e2e is touched (your
# kubeconfig and Pulumi login stay as they are); everything is removed at the end.
#   tools/e2e/run.sh [--keep]      (--keep: leave the cluster and the stack for inspection)
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=tools/e2e/common.sh
. tools/e2e/common.sh

keep=false
case "${1:-}" in
    "") ;;
    --keep) keep=true ;;
    *) echo "usage: tools/e2e/run.sh [--keep]" >&2; exit 2 ;;
esac
for tool in docker kind kubectl pulumi npm; do
    command -v "$tool" >/dev/null 2>&1 || { echo "error: $tool not found on PATH" >&2; exit 2; }
done
if kind get clusters 2>/dev/null | grep -qx "$E2E_CLUSTER"; then
    echo "error: a kind cluster named $E2E_CLUSTER exists already: kind delete cluster --name $E2E_CLUSTER" >&2
    exit 2
fi

work=$(mktemp -d)
export KUBECONFIG="$work/kubeconfig"
export PULUMI_BACKEND_URL="file://$work/state"
export PULUMI_CONFIG_PASSPHRASE="${PULUMI_CONFIG_PASSPHRASE:-e2e-throwaway}"
mkdir -p "$work/state"
# shellcheck disable=SC2317 # run by the EXIT trap
finish() {
    local status=$?
    if [ "$keep" = true ]; then
        e2e_log "kept: KUBECONFIG=$KUBECONFIG PULUMI_BACKEND_URL=$PULUMI_BACKEND_URL (tools/e2e/down.sh, then kind delete cluster --name $E2E_CLUSTER)"
        exit "$status"
    fi
    [ "$status" -eq 0 ] || tools/e2e/collect-logs.sh .tmp/e2e-logs || true
    tools/e2e/down.sh || status=1
    kind delete cluster --name "$E2E_CLUSTER" || true
    rm -rf "$work"
    exit "$status"
}
trap finish EXIT

kind create cluster --name "$E2E_CLUSTER" --image "$E2E_KIND_NODE_IMAGE" --config "$E2E_KIND_CONFIG" --wait 120s
tools/e2e/up.sh
npm run smoke -- --stack "$E2E_STACK"
tools/e2e/drill.sh "$work/drill.md"
