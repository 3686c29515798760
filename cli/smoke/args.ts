/** Command-line parsing for `npm run smoke`. Every mistake is an InputError (exit 2). */
import { InputError } from "../errors";
import { scanFlags } from "../flags";

export type OutputFormat = "table" | "json" | "markdown";

export interface SmokeArgs {
    stack?: string;
    controller?: string;
    registry?: string;
    token?: string;
    format: OutputFormat;
    /** Drill mode: repeat the journey for this many seconds and track acknowledged rule writes. */
    watchSeconds?: number;
    timeoutSeconds: number;
    runId?: string;
    help: boolean;
}

export const USAGE = `Usage: npm run smoke -- (--stack <name> | --controller <url> --registry <url>) [options]

Runs the sidecar journey against a deployed Amalgam8 control plane: register an instance,
heartbeat, list, create/read/delete a rule, and (with a token) auth accepted and refused. It
removes what it created and prints one line per step.

Targets (exactly one form):
  --stack <name>            read the stack's outputs (pulumi stack output --json --show-secrets);
                            Services without an external address are reached through
                            kubectl port-forward (current kubectl context)
  --controller <url>        controller base URL, e.g. http://127.0.0.1:6080
  --registry <url>          registry base URL, e.g. http://127.0.0.1:5080

Options:
  --token <jwt>             bearer token (default with --stack: the adminToken output)
  --json                    print one JSON document instead of the table
  --markdown                print a Markdown table (for a CI job summary)
  --watch <seconds>         drill mode: repeat the journey and write one tagged rule per round for
                            this long, count failed and wrong answers, then verify that every
                            acknowledged rule write survived (1-86400)
  --timeout <seconds>       budget of one journey run (default 30, 1-600)
  --run-id <id>             names what the run creates (lowercase letters, digits, '-'; default random)
  --help                    this text

Exit codes: 0 the journey passed (drill: nothing acknowledged was lost and the control plane
answered correctly at the end), 1 a step failed or an acknowledged write was lost, 2 bad input,
3 a tool (pulumi, kubectl) failed.`;

const VALUE_FLAGS = new Set(["--stack", "--controller", "--registry", "--token", "--watch", "--timeout", "--run-id"]);
const BOOL_FLAGS = new Set(["--json", "--markdown", "--help", "-h"]);
const RUN_ID = /^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$/;
const STACK_NAME = /^[\w.\-/]+$/;

/** An absolute http(s) URL without query or fragment, returned without a trailing slash. */
function baseUrl(flag: string, value: string): string {
    let u: URL;
    try {
        u = new URL(value);
    } catch {
        throw new InputError(`${flag} "${value}" is not a URL: give e.g. http://127.0.0.1:6080`);
    }
    if (u.protocol !== "http:" && u.protocol !== "https:") {
        throw new InputError(`${flag} "${value}" must start with http:// or https://`);
    }
    if (u.search !== "" || u.hash !== "" || u.username !== "" || u.password !== "") {
        throw new InputError(`${flag} "${value}" must be a base URL without credentials, query or fragment`);
    }
    return u.toString().replace(/\/+$/, "");
}

function integer(flag: string, value: string, min: number, max: number): number {
    if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
        throw new InputError(`${flag} "${value}" must be a whole number of seconds from ${min} to ${max}`);
    }
    return Number(value);
}

export function parseArgs(argv: readonly string[]): SmokeArgs {
    const out: SmokeArgs = { format: "table", timeoutSeconds: 30, help: false };
    for (const { flag, value } of scanFlags(argv, VALUE_FLAGS, BOOL_FLAGS)) {
        if (value === undefined) {
            if (flag === "--json" || flag === "--markdown") {
                const format = flag === "--json" ? "json" : "markdown";
                if (out.format !== "table" && out.format !== format) throw new InputError("give only one of --json or --markdown");
                out.format = format;
            } else {
                out.help = true;
            }
            continue;
        }
        switch (flag) {
            case "--stack":
                if (!STACK_NAME.test(value))
                    throw new InputError(`--stack "${value}" is not a stack name (letters, digits, '-', '_', '.', '/')`);
                out.stack = value;
                break;
            case "--controller":
                out.controller = baseUrl(flag, value);
                break;
            case "--registry":
                out.registry = baseUrl(flag, value);
                break;
            case "--token":
                if (/\s/.test(value)) throw new InputError("--token must be a JWT without spaces (the token alone, no 'Bearer ')");
                out.token = value;
                break;
            case "--watch":
                out.watchSeconds = integer(flag, value, 1, 86400);
                break;
            case "--timeout":
                out.timeoutSeconds = integer(flag, value, 1, 600);
                break;
            case "--run-id":
                if (!RUN_ID.test(value))
                    throw new InputError(
                        `--run-id "${value}" must be 1-32 lowercase letters, digits or '-', not starting or ending with '-'`,
                    );
                out.runId = value;
                break;
        }
    }
    if (out.help) return out;
    const urls = out.controller !== undefined || out.registry !== undefined;
    if (out.stack !== undefined && urls) throw new InputError("give either --stack or --controller/--registry, not both");
    if (out.stack === undefined && !urls)
        throw new InputError("give --stack <name>, or --controller <url> and --registry <url> (see --help)");
    if (urls && out.controller === undefined) throw new InputError("--registry needs --controller <url> as well");
    if (urls && out.registry === undefined) throw new InputError("--controller needs --registry <url> as well");
    return out;
}
