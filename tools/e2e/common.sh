# shellcheck shell=bash disable=SC2034
# Settings of the kind end-to-end run, sourced by the scripts beside it and read by
# .github/workflows/e2e.yml, so each is declared once.

# kind release and the node image it was published with (kind v0.24.0 release notes).
E2E_KIND_VERSION=v0.24.0
E2E_KIND_NODE_IMAGE=kindest/node:v1.31.0@sha256:53df588e04085fd41ae12de0c3fe4c72f7013bba32a20e7325357a1ac94ba865
E2E_KIND_CONFIG=tools/e2e/kind.yaml
E2E_CLUSTER=a8-e2e

# The throwaway stack, its stack file and its policy config.
E2E_STACK=e2e
E2E_STACK_FILE=Pulumi.$E2E_STACK.yaml
E2E_POLICY_CONFIG=policy/config/$E2E_STACK.json

# Every kubectl call gives up instead of hanging on an unreachable API server.
E2E_KUBECTL_TIMEOUT=30s
# How long a workload may take to become ready (image pulls on a fresh cluster included).
E2E_READY_TIMEOUT=600s

e2e_log() {
    printf '%s e2e: %s\n' "$(date -u +%H:%M:%S)" "$*" >&2
}
