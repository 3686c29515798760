#!/usr/bin/env bash
# Destroys the e2e stack and removes it from the Pulumi backend, keeping its stack file (tracked).
# Safe to run at any point: with no Pulumi CLI or no stack there is nothing to do.
#   PULUMI_CONFIG_PASSPHRASE=... tools/e2e/down.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=tools/e2e/common.sh
. tools/e2e/common.sh

if ! command -v pulumi >/dev/null 2>&1 || ! pulumi stack select "$E2E_STACK" >/dev/null 2>&1; then
    e2e_log "no stack $E2E_STACK: nothing to destroy"
    exit 0
fi

status=0
e2e_log "pulumi destroy --stack $E2E_STACK"
pulumi destroy --yes --non-interactive --skip-preview --stack "$E2E_STACK" || status=$?
if [ "$status" -eq 0 ]; then
    pulumi stack rm --yes --preserve-config --non-interactive --stack "$E2E_STACK"
else
    # The cluster may already be gone: drop the state anyway so the next run starts clean.
    e2e_log "destroy failed (exit $status): removing the stack with --force"
    pulumi stack rm --yes --force --preserve-config --non-interactive --stack "$E2E_STACK"
fi
exit "$status"
