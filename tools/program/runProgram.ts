/**
 * Runs the Pulumi program (`index.ts`) under the SDK's mock monitor, with a stack's configuration,
 * and records every resource it registers with its inputs and every stack output. Used by the
 * tests and by `npm run check`; no Pulumi CLI, no cluster.
 */
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { InputError } from "../errors";
import { StackConfig } from "./stackConfig";

export interface RecordedResource {
    readonly urn: string;
    readonly type: string;
    readonly name: string;
    readonly custom: boolean;
    readonly inputs: Record<string, any>;
    readonly parent?: string;
}

export interface ProgramRun {
    readonly resources: RecordedResource[];
    readonly outputs: Record<string, { value: unknown; secret: boolean }>;
}

export const REPO_ROOT = path.resolve(__dirname, "..", "..");
export const DEFAULT_PROGRAM = path.join(REPO_ROOT, "index.ts");

/** What a real cluster or provider would fill in after creation, so outputs are realistic. */
function simulatedState(type: string, inputs: Record<string, any>): Record<string, any> {
    if (type === "random:index/randomPassword:RandomPassword") {
        return { ...inputs, result: "mock".padEnd(inputs.length ?? 16, "x") };
    }
    if (type === "kubernetes:core/v1:Service" && inputs.spec?.type === "LoadBalancer") {
        // A documentation address (RFC 5737), as a cloud load balancer would report one.
        return { ...inputs, status: { loadBalancer: { ingress: [{ ip: "192.0.2.10" }] } } };
    }
    return inputs;
}

/** Forget the project's own modules so that each run evaluates the program afresh. */
function unloadProjectModules(): void {
    for (const id of Object.keys(require.cache)) {
        if (id.startsWith(REPO_ROOT) && !id.includes(`${path.sep}node_modules${path.sep}`)) {
            delete require.cache[id];
        }
    }
}

async function settle(count: () => number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = -1;
    let stableSince = Date.now();
    while (Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 10));
        const now = count();
        if (now !== last) {
            last = now;
            stableSince = Date.now();
        } else if (Date.now() - stableSince >= 100) {
            return;
        }
    }
}

function parentOf(urn: string, all: Map<string, { urn: string }>): string | undefined {
    // urn:pulumi:<stack>::<project>::<parentTypes$type>::<name>: the parent is the component whose
    // type chain is this one's minus the last element and whose name prefixes this name.
    const parts = urn.split("::");
    const chain = parts[2].split("$");
    if (chain.length < 2) return undefined;
    const parentChain = chain.slice(0, -1).join("$");
    let best: string | undefined;
    for (const candidate of all.keys()) {
        const c = candidate.split("::");
        if (c[2] === parentChain && parts[3].startsWith(c[3]) && (!best || c[3].length > best.split("::")[3].length)) {
            best = candidate;
        }
    }
    return best;
}

export async function runProgram(stack: StackConfig, programPath: string = DEFAULT_PROGRAM): Promise<ProgramRun> {
    const inputsByKey = new Map<string, Record<string, any>>();
    await pulumi.runtime.setMocks(
        {
            newResource(args) {
                const state = simulatedState(args.type, args.inputs);
                inputsByKey.set(`${args.type}::${args.name}`, args.inputs);
                return { id: `${args.name}-id`, state };
            },
            call(args) {
                return args.inputs;
            },
        },
        stack.project,
        stack.stack,
        false,
    );
    pulumi.runtime.setAllConfig(stack.config, stack.secretKeys);
    // As the CLI does, tell the program where its project folder is (it checks its stack file there).
    require("@pulumi/pulumi/runtime/state").getStore().settings.options.rootDirectory = stack.projectDir ?? "";
    const monitor = (pulumi.runtime as any).getMonitor() as { getRegisteredResources(): Map<string, { urn: string }> };

    unloadProjectModules();
    let program: Record<string, unknown>;
    try {
        program = require(programPath);
    } catch (e) {
        const err = e as Error;
        if (err instanceof pulumi.RunError || err.name === "ConfigError" || err.name === "RunError") {
            throw new InputError(err.message);
        }
        throw err;
    }

    const outputs: ProgramRun["outputs"] = {};
    for (const [key, value] of Object.entries(program)) {
        if (key === "__esModule") continue;
        if (pulumi.Output.isInstance(value)) {
            const resolved = await (value as any).promise();
            if (resolved !== undefined) outputs[key] = { value: resolved, secret: await (value as any).isSecret };
        } else if (value !== undefined) {
            outputs[key] = { value, secret: false };
        }
    }
    await settle(() => monitor.getRegisteredResources().size, 10_000);

    const registered = monitor.getRegisteredResources();
    const resources: RecordedResource[] = [];
    for (const urn of registered.keys()) {
        const parts = urn.split("::");
        const type = parts[2].split("$").pop() as string;
        const name = parts[3];
        const inputs = inputsByKey.get(`${type}::${name}`) ?? {};
        const parent = parentOf(urn, registered);
        resources.push({
            urn,
            type,
            name,
            custom: !type.startsWith("amalgam8:"),
            inputs,
            ...(parent ? { parent } : {}),
        });
    }
    return { resources, outputs };
}
