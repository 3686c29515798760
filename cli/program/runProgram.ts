/**
 * Runs the Pulumi program (`index.ts`) under the SDK's mock monitor, with a stack's configuration,
 * and records every resource it registers with its inputs, parent and aliases (what the engine
 * would receive), and every stack output. Used by the tests and by `npm run check`; no Pulumi CLI,
 * no cluster.
 */
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { InputError } from "../errors";
import { REPO_ROOT } from "../repoRoot";
import { StackConfig } from "./stackConfig";

/**
 * An alias as the SDK sends it to the engine. Fields left out default to the resource's own (its
 * name, type, parent, stack, project); `parent` is the mock URN of the alias's parent.
 */
export interface RecordedAlias {
    /** A whole URN given as the alias. */
    readonly urn?: string;
    readonly name?: string;
    readonly type?: string;
    readonly stack?: string;
    readonly project?: string;
    readonly parent?: string;
    /** The resource used to have no parent (it was a child of the stack). */
    readonly noParent?: boolean;
}

export interface RecordedResource {
    /** As the mock monitor makes it: only the nearest parent's type precedes the type. */
    readonly urn: string;
    readonly type: string;
    readonly name: string;
    readonly custom: boolean;
    readonly inputs: Record<string, any>;
    /** Mock URN of the parent the program registered it with. */
    readonly parent?: string;
    readonly aliases: RecordedAlias[];
}

export interface ProgramRun {
    readonly resources: RecordedResource[];
    readonly outputs: Record<string, { value: unknown; secret: boolean }>;
}

const DEFAULT_PROGRAM = path.join(REPO_ROOT, "index.ts");

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

/** The parts of a RegisterResourceRequest this runner reads (the SDK's protobuf message). */
interface RegisterRequest {
    getParent(): string;
    getAliasesList(): {
        getUrn(): string;
        getSpec():
            | {
                  getName(): string;
                  getType(): string;
                  getStack(): string;
                  getProject(): string;
                  getParenturn(): string;
                  getNoparent(): boolean;
              }
            | undefined;
    }[];
}

type RegisterCallback = (err: unknown, response?: { getUrn(): string }) => void;

interface MockMonitor {
    getRegisteredResources(): Map<string, { urn: string }>;
    registerResource(req: RegisterRequest, callback: RegisterCallback): Promise<void>;
}

function recordedAliases(req: RegisterRequest): RecordedAlias[] {
    return req.getAliasesList().map((alias) => {
        const spec = alias.getSpec();
        if (!spec) return { urn: alias.getUrn() };
        const given = {
            name: spec.getName(),
            type: spec.getType(),
            stack: spec.getStack(),
            project: spec.getProject(),
            parent: spec.getParenturn(),
            noParent: spec.getNoparent(),
        };
        // Empty strings and false are protobuf's "not set".
        return Object.fromEntries(Object.entries(given).filter(([, v]) => v !== "" && v !== false)) as RecordedAlias;
    });
}

/** What the engine would learn from each registration besides the inputs: parent and aliases, by URN. */
function recordRegistrations(monitor: MockMonitor): Map<string, { parent?: string; aliases: RecordedAlias[] }> {
    const byUrn = new Map<string, { parent?: string; aliases: RecordedAlias[] }>();
    const register = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req, callback) =>
        register(req, (err, response) => {
            if (!err && response) byUrn.set(response.getUrn(), { parent: req.getParent() || undefined, aliases: recordedAliases(req) });
            callback(err, response);
        });
    return byUrn;
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
    const monitor = (pulumi.runtime as any).getMonitor() as MockMonitor;
    const registrations = recordRegistrations(monitor);

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
        const { parent, aliases } = registrations.get(urn) ?? { aliases: [] };
        resources.push({
            urn,
            type,
            name,
            custom: !type.startsWith("amalgam8:"),
            inputs,
            ...(parent ? { parent } : {}),
            aliases,
        });
    }
    return { resources, outputs };
}
