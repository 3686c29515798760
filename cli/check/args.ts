/** Command-line parsing for `npm run check`. Every mistake is an InputError (exit 2). */
import { InputError } from "../errors";
import { scanFlags } from "../flags";

export interface CheckArgs {
    stack?: string;
    manifests?: string;
    projectDir?: string;
    json: boolean;
    out?: string;
    policyConfig?: string;
    help: boolean;
}

export const USAGE = `Usage: npm run check -- (--stack <name> | --manifests <file|dir|->) [options]

Runs the amalgam8-ha policy pack the way the Pulumi CLI does (own process + Analyzer gRPC)
against the Kubernetes objects of a stack (the program run under the SDK mock monitor) or of
YAML manifests, after validating every object against the Kubernetes OpenAPI schema.

Sources (exactly one):
  --stack <name>            program index.ts with Pulumi.yaml + Pulumi.<name>.yaml;
                            policy config policy/config/<name>.json, or the strictest
                            (policy/config/prod.json) for a stack without one
  --manifests <file|dir|->  multi-document YAML (.yaml/.yml, folders recursively, sorted;
                            - reads standard input, e.g. helm template ... | npm run check -- --manifests -);
                            policy config policy/config/prod.json (the strictest)

Options:
  --project-dir <dir>       where Pulumi.yaml and Pulumi.<stack>.yaml live (default: repo root)
  --policy-config <file>    policy pack config JSON (as for --policy-pack-config), overrides the default
  --json                    print one JSON document {resources, violations, errors} on stdout
  --out <dir>               write one YAML file per object (<namespace>/<kind>-<name>.yaml, keys sorted,
                            Secret values redacted) into a new or empty folder, or one an earlier
                            --out wrote: only the files listed in its .check-out.json are replaced
  --help                    this text

Exit codes: 0 no mandatory violation (advisories allowed), 1 a mandatory violation or a schema
error, 2 bad input (file, YAML, flag, stack), 3 the policy pack or the program failed.`;

/** Each flag that takes a value, and the field it sets. */
const VALUE_FLAGS = {
    "--stack": "stack",
    "--manifests": "manifests",
    "--project-dir": "projectDir",
    "--out": "out",
    "--policy-config": "policyConfig",
} as const satisfies Record<string, keyof CheckArgs>;
const BOOL_FLAGS = new Set(["--json", "--help", "-h"]);

export function parseArgs(argv: string[]): CheckArgs {
    const out: CheckArgs = { json: false, help: false };
    for (const { flag, value } of scanFlags(argv, new Set(Object.keys(VALUE_FLAGS)), BOOL_FLAGS)) {
        if (value === undefined) {
            if (flag === "--json") out.json = true;
            else out.help = true;
            continue;
        }
        out[VALUE_FLAGS[flag as keyof typeof VALUE_FLAGS]] = value;
    }
    if (out.help) {
        return out;
    }
    if ((out.stack === undefined) === (out.manifests === undefined)) {
        throw new InputError("give exactly one of --stack <name> or --manifests <file|dir> (see --help)");
    }
    if (out.projectDir !== undefined && out.stack === undefined) {
        throw new InputError("--project-dir only goes with --stack");
    }
    return out;
}
