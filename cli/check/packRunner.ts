/**
 * Runs a policy pack the way the Pulumi CLI does: `node <@pulumi/pulumi>/cmd/run-policy-pack
 * <engine> <pack dir>` in its own process (for a compiled pack, `packLauncher.js`, which starts it
 * the same way at a fraction of the cost), read the port it prints, then speak the Analyzer gRPC
 * protocol (GetAnalyzerInfo, Configure, Analyze per resource, AnalyzeStack).
 */
import * as path from "path";
import * as grpc from "@grpc/grpc-js";
import { Empty } from "google-protobuf/google/protobuf/empty_pb";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import * as analyzerpb from "@pulumi/pulumi/proto/analyzer_pb";
import { AnalyzerClient } from "@pulumi/pulumi/proto/analyzer_grpc_pb";
import { ensurePackBuilt } from "./packBuild";
import { CheckResource } from "./resources";
import { ManagedProcess, launch } from "../process";

export type Level = "advisory" | "mandatory" | "disabled" | "remediate";

const LEVELS: Level[] = ["advisory", "mandatory", "disabled", "remediate"];

function levelName(n: number): Level {
    return LEVELS[n] ?? "advisory";
}

/** analyzerpb.PolicySeverity by number; undefined for POLICY_SEVERITY_UNSPECIFIED. */
const SEVERITY_NAMES: readonly (string | undefined)[] = [undefined, "low", "medium", "high", "critical"];

function levelNumber(l: Level): analyzerpb.EnforcementLevel {
    return LEVELS.indexOf(l) as analyzerpb.EnforcementLevel;
}

export interface PolicyInfo {
    name: string;
    description: string;
    enforcementLevel: Level;
    type: "resource" | "stack" | "unknown";
    severity: string | undefined;
    tags: string[];
    /** What to change when the policy fires, as the CLI and Pulumi Cloud show it. */
    remediationSteps: string;
    /** configSchema.properties (JSON schema per property). */
    properties: Record<string, any>;
    required: string[];
}

export interface PackInfo {
    name: string;
    version: string;
    policies: PolicyInfo[];
}

export interface Diagnostic {
    policy: string;
    enforcementLevel: Level;
    message: string;
    urn: string;
}

export interface PolicySettings {
    enforcementLevel: Level;
    properties: Record<string, unknown>;
}

/** Generous: a busy machine running several checks needs more than the usual second. */
const START_TIMEOUT_MS = 300_000;

const PULUMI_DIR = path.dirname(require.resolve("@pulumi/pulumi/package.json"));
/** The SDK's launcher, which the Pulumi CLI uses. */
export const RUN_POLICY_PACK = path.join(PULUMI_DIR, "cmd", "run-policy-pack");
const PACK_LAUNCHER = path.join(__dirname, "packLauncher.js");

/** The launcher for a pack: ours when its `main` is JavaScript, else the SDK's, which registers ts-node. */
export function launcherFor(packDir: string): string {
    return require.resolve(path.resolve(packDir)).endsWith(".js") ? PACK_LAUNCHER : RUN_POLICY_PACK;
}

/** JSON-safe copy for google.protobuf.Struct: drops undefined, functions and non-finite numbers. */
export function toStructJs(v: unknown): any {
    if (v === null || typeof v === "string" || typeof v === "boolean") return v;
    if (typeof v === "number") return Number.isFinite(v) ? v : null;
    if (Array.isArray(v)) return v.map((x) => (x === undefined ? null : toStructJs(x)));
    if (typeof v === "object") {
        const out: Record<string, unknown> = {};
        for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
            if (x !== undefined && typeof x !== "function" && typeof x !== "symbol") out[k] = toStructJs(x);
        }
        return out;
    }
    return null;
}

/**
 * One Analyzer call. The deadline grows with the work the call carries (`timeoutMs`), so a large
 * input never hits a fixed limit; when one does pass, the message says which call and after how long.
 */
function unary<Req, Res>(client: AnalyzerClient, method: string, req: Req, timeoutMs: number): Promise<Res> {
    return new Promise((resolve, reject) => {
        const fn = (client as any)[method].bind(client);
        fn(req, new grpc.Metadata(), { deadline: Date.now() + timeoutMs }, (err: grpc.ServiceError | null, res: Res) => {
            if (!err) resolve(res);
            else if (err.code === grpc.status.DEADLINE_EXCEEDED)
                reject(new Error(`policy pack ${method} did not answer within ${Math.round(timeoutMs / 1000)} s`));
            else reject(new Error(`policy pack ${method} failed: ${err.details || err.message}`));
        });
    });
}

/** Time allowed for a call carrying `resources` objects: generous on a busy machine, yet bounded. */
function callTimeoutMs(resources: number): number {
    return 120_000 + 50 * resources;
}

/** Analyze requests in flight at once: enough to keep the pack busy, few enough that each answers soon. */
const IN_FLIGHT = 16;

/** What the pack needs of a resource. */
export type PackResource = Pick<CheckResource, "urn" | "type" | "name" | "props" | "parent"> & Partial<CheckResource>;

/** Analyze and AnalyzeStack carry the same properties: convert each resource once. */
const structs = new WeakMap<object, Struct>();

function propertiesOf(r: PackResource): Struct {
    let s = structs.get(r.props);
    if (!s) {
        s = Struct.fromJavaScript(toStructJs(r.props));
        structs.set(r.props, s);
    }
    return s;
}

/** The setters AnalyzeRequest and AnalyzerResource share. */
interface ResourceMessage {
    setType(value: string): unknown;
    setUrn(value: string): unknown;
    setName(value: string): unknown;
    setProperties(value?: Struct): unknown;
    setOptions(value?: analyzerpb.AnalyzerResourceOptions): unknown;
}

/** Fills in what Analyze and AnalyzeStack both say of a resource. */
function describeResource<M extends ResourceMessage>(message: M, r: PackResource): M {
    message.setType(r.type);
    message.setUrn(r.urn);
    message.setName(r.name);
    message.setProperties(propertiesOf(r));
    message.setOptions(resourceOptions(r));
    return message;
}

function resourceOptions(r: PackResource): analyzerpb.AnalyzerResourceOptions {
    // Every request must carry options, or the pack asks for a newer CLI.
    const opts = new analyzerpb.AnalyzerResourceOptions();
    opts.setProtect(false);
    opts.setIgnorechangesList([]);
    opts.setAliasesList([]);
    opts.setAdditionalsecretoutputsList([]);
    opts.setCustomtimeouts(new analyzerpb.AnalyzerResourceOptions.CustomTimeouts());
    if (r.parent) opts.setParent(r.parent);
    return opts;
}

/** Diagnostics of a response; resource-level ones carry no URN, so `urn` fills it in. */
function diagnostics(res: analyzerpb.AnalyzeResponse, urn = ""): Diagnostic[] {
    return res.getDiagnosticsList().map((d) => {
        // The pack prefixes each message with the policy description, as the CLI shows it.
        const desc = d.getDescription();
        const raw = d.getMessage();
        const message = desc && raw.startsWith(`${desc}\n`) ? raw.slice(desc.length + 1) : raw;
        return { policy: d.getPolicyname(), enforcementLevel: levelName(d.getEnforcementlevel()), message, urn: d.getUrn() || urn };
    });
}

export class PolicyPackProcess {
    private constructor(
        private readonly pack: ManagedProcess,
        private readonly client: AnalyzerClient,
        /** Port of the pack's Analyzer gRPC server on 127.0.0.1. */
        readonly port: number,
    ) {}

    get pid(): number {
        return this.pack.pid;
    }

    /**
     * Starts the pack and waits for the port it prints. The compiled pack starts in about a
     * second; the limit is only there so a hung start ends with a message rather than never.
     */
    static async start(packDir: string, startTimeoutMs = START_TIMEOUT_MS, launcher?: string): Promise<PolicyPackProcess> {
        ensurePackBuilt((l) => process.stderr.write(`${l}\n`), packDir);
        const { process: pack } = launch("policy pack", process.execPath, [launcher ?? launcherFor(packDir), "127.0.0.1:0", packDir], {
            cwd: packDir,
        });
        let port: number;
        try {
            port = Number((await pack.waitForOutput(/^\s*(\d+)\s*$/m, startTimeoutMs, "port"))[1]);
        } catch {
            const why = pack.running
                ? `it printed no port within ${Math.round(startTimeoutMs / 1000)} s; ` +
                  "the machine may be overloaded, try again with fewer checks at once"
                : `exited with ${await pack.exited}`;
            await pack.stop(0);
            const tail = pack.recentOutput(15);
            throw new Error(`policy pack did not start (${why})${tail ? `:\n${tail}` : ""}`);
        }
        const client = new AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), {
            "grpc.max_receive_message_length": 400 * 1024 * 1024,
            "grpc.max_send_message_length": 400 * 1024 * 1024,
        });
        return new PolicyPackProcess(pack, client, port);
    }

    async info(): Promise<PackInfo> {
        const res = await unary<Empty, analyzerpb.AnalyzerInfo>(this.client, "getAnalyzerInfo", new Empty(), callTimeoutMs(0));
        return {
            name: res.getName(),
            version: res.getVersion(),
            policies: res.getPoliciesList().map((p) => {
                const schema = p.getConfigschema();
                const type = p.getPolicyType();
                return {
                    name: p.getName(),
                    description: p.getDescription(),
                    enforcementLevel: levelName(p.getEnforcementlevel()),
                    type:
                        type === analyzerpb.PolicyType.POLICY_TYPE_RESOURCE
                            ? "resource"
                            : type === analyzerpb.PolicyType.POLICY_TYPE_STACK
                              ? "stack"
                              : "unknown",
                    properties: (schema?.getProperties()?.toJavaScript() as Record<string, any>) ?? {},
                    required: schema?.getRequiredList() ?? [],
                    severity: SEVERITY_NAMES[p.getSeverity()],
                    tags: p.getTagsList(),
                    remediationSteps: p.getRemediationSteps(),
                };
            }),
        };
    }

    async configure(settings: Map<string, PolicySettings>): Promise<void> {
        const req = new analyzerpb.ConfigureAnalyzerRequest();
        const map = req.getPolicyconfigMap();
        for (const [name, s] of settings) {
            const pc = new analyzerpb.PolicyConfig();
            pc.setEnforcementlevel(levelNumber(s.enforcementLevel));
            pc.setProperties(Struct.fromJavaScript(toStructJs(s.properties)));
            map.set(name, pc);
        }
        await unary<analyzerpb.ConfigureAnalyzerRequest, Empty>(this.client, "configure", req, callTimeoutMs(0));
    }

    /** Diagnostics of every resource, in input order: pipelined Analyze calls on one channel. */
    async analyzeAll(resources: PackResource[]): Promise<Diagnostic[][]> {
        const out: Diagnostic[][] = new Array(resources.length);
        let next = 0;
        const worker = async () => {
            while (next < resources.length) {
                const i = next++;
                out[i] = await this.analyze(resources[i]);
            }
        };
        await Promise.all(Array.from({ length: Math.min(IN_FLIGHT, resources.length) }, worker));
        return out;
    }

    async analyze(r: PackResource): Promise<Diagnostic[]> {
        const req = describeResource(new analyzerpb.AnalyzeRequest(), r);
        const res = await unary<analyzerpb.AnalyzeRequest, analyzerpb.AnalyzeResponse>(
            this.client,
            "analyze",
            req,
            callTimeoutMs(IN_FLIGHT),
        );
        return diagnostics(res, r.urn);
    }

    async analyzeStack(resources: PackResource[]): Promise<Diagnostic[]> {
        const req = new analyzerpb.AnalyzeStackRequest();
        req.setResourcesList(
            resources.map((r) => {
                const ar = describeResource(new analyzerpb.AnalyzerResource(), r);
                if (r.parent) ar.setParent(r.parent);
                return ar;
            }),
        );
        const res = await unary<analyzerpb.AnalyzeStackRequest, analyzerpb.AnalyzeResponse>(
            this.client,
            "analyzeStack",
            req,
            callTimeoutMs(resources.length),
        );
        return diagnostics(res);
    }

    /** Closes the channel and ends the pack process by its pid (SIGTERM, then SIGKILL after 5 s). */
    async stop(): Promise<void> {
        this.client.close();
        await this.pack.stop(5_000);
    }
}
