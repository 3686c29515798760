#!/usr/bin/env bash
# Deploys the e2e stack (Pulumi.e2e.yaml) to the current kubectl context with the current Pulumi
# backend: checks it offline (npm run check), creates the stack if needed, runs `pulumi up` with
# the policy pack and its config, then waits until every Deployment and StatefulSet of the stack's
# namespace is ready.
#   PULUMI_CONFIG_PASSPHRASE=... tools/e2e/up.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=tools/e2e/common.sh
. tools/e2e/common.sh

: "${PULUMI_CONFIG_PASSPHRASE?set PULUMI_CONFIG_PASSPHRASE (any value: it encrypts the secrets of the throwaway stack)}"
# The offline gate first: the same policy verdict in seconds, before anything is created.
npm run --silent check -- --stack "$E2E_STACK" --policy-config "$E2E_POLICY_CONFIG"

pulumi stack select --create --secrets-provider passphrase "$E2E_STACK"
e2e_log "pulumi up --stack $E2E_STACK with the policy pack and $E2E_POLICY_CONFIG"
pulumi up --yes --non-interactive --stack "$E2E_STACK" \
    --policy-pack policy --policy-pack-config "$E2E_POLICY_CONFIG"

ns=$(pulumi stack output namespace --stack "$E2E_STACK")
k=(kubectl --namespace "$ns" --request-timeout "$E2E_KUBECTL_TIMEOUT")
workloads=$("${k[@]}" get deployments,statefulsets --output name)
[ -n "$workloads" ] || { echo "error: no Deployment or StatefulSet in namespace $ns" >&2; exit 1; }
for w in $workloads; do
    e2e_log "waiting for $w"
    "${k[@]}" rollout status "$w" --timeout "$E2E_READY_TIMEOUT"
done
"${k[@]}" wait --for condition=Available deployment --all --timeout "$E2E_READY_TIMEOUT"
"${k[@]}" wait --for condition=Ready pod --all --timeout "$E2E_READY_TIMEOUT"
"${k[@]}" get pods --output wide
