/** How `npm run smoke -- --stack <name>` finds the control plane: the stack's outputs. */
import { CommandNotFound, RunResult, runToEnd } from "../process";
import { InputError } from "../errors";

/** A tool the smoke run depends on (pulumi, kubectl) failed: exit 3. */
export class ToolError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "ToolError";
    }
}

/** A Service reached through `kubectl port-forward`. */
export interface ForwardedService {
    readonly namespace: string;
    readonly service: string;
    readonly port: number;
}

/** One API service: an address this machine can reach, or a Service to port-forward to. */
export type Reach = { readonly kind: "direct"; readonly url: string } | ({ readonly kind: "port-forward" } & ForwardedService);

export interface StackTargets {
    readonly controller: Reach;
    readonly registry: Reach;
    readonly token?: string;
}

const IN_CLUSTER_URL = /^http:\/\/([a-z0-9]([-a-z0-9]*[a-z0-9])?)\.([a-z0-9]([-a-z0-9]*[a-z0-9])?)\.svc(\.[a-z0-9.-]+)?:(\d+)\/?$/;

/** `http://<service>.<namespace>.svc.cluster.local:<port>` (the `controllerUrl`/`registryUrl` outputs). */
function parseInClusterUrl(key: string, url: string): ForwardedService {
    const m = IN_CLUSTER_URL.exec(url);
    if (!m)
        throw new InputError(
            `stack output ${key} "${url}" is not an in-cluster Service URL (http://<service>.<namespace>.svc.cluster.local:<port>)`,
        );
    return { service: m[1], namespace: m[3], port: Number(m[6]) };
}

function stringOutput(outputs: Record<string, unknown>, key: string): string | undefined {
    const v = outputs[key];
    if (v === undefined || v === null || v === "") return undefined;
    if (typeof v !== "string") throw new InputError(`stack output ${key} must be a string, found ${JSON.stringify(v)}`);
    return v;
}

function reachOf(outputs: Record<string, unknown>, name: "controller" | "registry"): Reach {
    const urlKey = `${name}Url`;
    const url = stringOutput(outputs, urlKey);
    if (url === undefined) throw new InputError(`the stack has no output ${urlKey}: run pulumi up for it first`);
    const service = parseInClusterUrl(urlKey, url);
    // A LoadBalancer address is reachable as it is; a NodePort endpoint names no node and
    // ClusterIP has none, so both go through the API server instead.
    const endpoint = stringOutput(outputs, `${name}Endpoint`);
    if (endpoint !== undefined && !endpoint.includes("<")) return { kind: "direct", url: endpoint.replace(/\/+$/, "") };
    return { kind: "port-forward", ...service };
}

/** Pure: the targets named by the JSON of `pulumi stack output --json --show-secrets`. */
export function targetsFromOutputs(outputs: unknown): StackTargets {
    if (typeof outputs !== "object" || outputs === null || Array.isArray(outputs)) {
        throw new InputError("pulumi stack output --json did not print a JSON object");
    }
    const o = outputs as Record<string, unknown>;
    const token = stringOutput(o, "adminToken");
    return { controller: reachOf(o, "controller"), registry: reachOf(o, "registry"), ...(token ? { token } : {}) };
}

const PULUMI_TIMEOUT_MS = 60_000;

/** Runs `pulumi stack output --json --show-secrets --stack <stack>` in the project folder. */
export async function readStackOutputs(stack: string, projectDir: string): Promise<unknown> {
    const args = ["stack", "output", "--json", "--show-secrets", "--stack", stack];
    let run: RunResult;
    try {
        run = await runToEnd("pulumi stack output", "pulumi", args, { cwd: projectDir, timeoutMs: PULUMI_TIMEOUT_MS, graceMs: 0 });
    } catch (e) {
        if (e instanceof CommandNotFound)
            throw new ToolError("pulumi not found on PATH: install the Pulumi CLI (https://www.pulumi.com/docs/install/)");
        throw new ToolError(`pulumi did not start: ${(e as Error).message}`);
    }
    const { code, stdout, stderr } = run;
    if (run.timedOut) throw new ToolError(`pulumi stack output did not answer within ${PULUMI_TIMEOUT_MS / 1000} s`);
    const firstError =
        stderr
            .split("\n")
            .map((l) => l.trim())
            .find((l) => l !== "") ?? `exit code ${code}`;
    if (code !== 0) {
        if (/no stack named/i.test(stderr))
            throw new InputError(`stack "${stack}" not found in the current Pulumi backend (pulumi stack ls lists them)`);
        throw new ToolError(`pulumi stack output --stack ${stack} failed: ${firstError}`);
    }
    try {
        return JSON.parse(stdout);
    } catch {
        throw new ToolError(`pulumi stack output --json --stack ${stack} printed no JSON`);
    }
}
