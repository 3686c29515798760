/**
 * What sidecars see while Redis fails over. The real controller and registry (2 replicas each,
 * started from the rendered `staging` stack by tools/loopback/stack.ts) on the generated HA
 * Redis; seeded state (instances with a TTL, routing rules); steady sidecar-like traffic that
 * alternates replicas (list services, get a service, list instances, heartbeats, get rules, a
 * rule write each second) while the Redis master is SIGKILLed N times (recovery between kills)
 * and every Redis server is frozen once for 10 s.
 *
 *   npm run bench:control-plane [-- --images upstream|patched] [--kills N] [--no-freeze] [--json]
 *
 * A request fails when it gets no 2xx answer. An answer is wrong when it is 2xx and contradicts
 * what was acknowledged before the request started: a service or instance list lacking a live
 * registered instance (empty or partial), rules lacking an acknowledged rule, or a revision
 * lower than one already answered. Each request counts for the fault that precedes it.
 */
import { spawnSync } from "child_process";
import * as path from "path";
import { asK8sObject, K8sObject } from "../../policy/lib/k8s";
import { unwrapSecrets } from "../check/resources";
import { REPO_ROOT, runProgram } from "../program/runProgram";
import { loadStackConfig } from "../program/stackConfig";
import { Amalgam8Variant, PATCH_SERIES_DIR } from "../loopback/prerequisites";
import { sleep, waitFor } from "../loopback/process";
import { RedisHaCluster } from "../loopback/redisCluster";
import { LoopbackControlPlane, startRenderedControlPlane } from "../loopback/stack";
import { requestJson } from "../smoke/http";

const USAGE = "usage: npm run bench:control-plane [-- --images upstream|patched] [--kills N] [--no-freeze] [--json]";

/** The shipped stack that runs Redis in `ha` mode with 2 replicas of each service. */
const STACK = "staging";
/** Sidecar-like load: one request every 32 ms (about 31/s) plus one rule write per second. */
const REQUEST_INTERVAL_MS = 32;
const WRITE_INTERVAL_MS = 1000;
/** Sidecars give up on a request after 30 s. */
const CLIENT_TIMEOUT_MS = 30000;
const MAX_IN_FLIGHT = 512;
const FREEZE_MS = 10000;
const SEED = { services: 3, instancesPerService: 2, rules: 3, ttlSeconds: 20 };
/** An instance counts as registered until this long before its TTL could have run out. */
const EXPIRY_MARGIN_MS = 1000;

export interface BenchOptions {
    images: Amalgam8Variant;
    kills: number;
    /** Freeze every Redis server once after the kills. */
    freeze: boolean;
    json: boolean;
    /** Steady traffic before the first fault and after the last recovery. */
    steadyMs: number;
    /**
     * Concurrent list requests sent to every replica just before each fault (sidecars polling
     * at the same moment): they fill the services' Redis connection pools as a busy mesh does.
     */
    burstBeforeFault: number;
}

class UsageError extends Error {}

export function parseArgs(argv: string[]): BenchOptions {
    const o: BenchOptions = { images: "upstream", kills: 5, freeze: true, json: false, steadyMs: 5000, burstBeforeFault: 0 };
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        const value = (flag: string): string | undefined => (a === flag ? argv[++i] : a.slice(flag.length + 1));
        if (a === "--json") o.json = true;
        else if (a === "--no-freeze") o.freeze = false;
        else if (a === "--images" || a.startsWith("--images=")) {
            const v = value("--images");
            if (v !== "upstream" && v !== "patched") throw new UsageError(`--images takes upstream or patched (got ${v === undefined ? "nothing" : JSON.stringify(v)})`);
            o.images = v;
        } else if (a === "--kills" || a.startsWith("--kills=")) {
            const v = value("--kills");
            if (v === undefined || !/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 100) {
                throw new UsageError(`--kills needs an integer from 1 to 100 (got ${v === undefined ? "nothing" : JSON.stringify(v)})`);
            }
            o.kills = Number(v);
        } else throw new UsageError(`unknown argument ${JSON.stringify(a)}`);
    }
    return o;
}

// ---------------------------------------------------------------------------------------------
// What was acknowledged, and what contradicts it (pure bookkeeping)

export type RequestKind = "listServices" | "getService" | "listInstances" | "heartbeat" | "getRules" | "writeRule";

export interface RequestRecord {
    kind: RequestKind;
    replica: number;
    start: number;
    end: number;
    /** HTTP status, or undefined when no answer came (connection error, timeout). */
    status?: number;
    /** Why a 2xx answer contradicts what was acknowledged. */
    wrong?: string;
    error?: string;
}

/** Acknowledged facts, each with the time from which a correct answer must reflect it. */
export class Ledger {
    /** Per instance: every acknowledged registration or heartbeat, as (sent, acknowledged) times. */
    private readonly instances = new Map<string, { service: string; ttlMs: number; renewals: { sent: number; acked: number }[] }>();
    private readonly rules = new Map<string, number>();
    /** Revisions answered, in completion order, with the running maximum. */
    private readonly revisionEnds: number[] = [];
    private readonly revisionMax: number[] = [];

    /** A registration or heartbeat sent at `sent` and acknowledged at `acked`. */
    renewed(id: string, service: string, sent: number, acked: number, ttlMs: number): void {
        const inst = this.instances.get(id) ?? { service, ttlMs, renewals: [] };
        inst.renewals.push({ sent, acked });
        this.instances.set(id, inst);
    }

    ruleAcked(id: string, at: number): void {
        this.rules.set(id, at);
    }

    revisionAnswered(revision: number, at: number): void {
        const prevMax = this.revisionMax.length > 0 ? this.revisionMax[this.revisionMax.length - 1] : -Infinity;
        this.revisionEnds.push(at);
        this.revisionMax.push(Math.max(prevMax, revision));
    }

    /** Highest revision answered before `t`, or undefined. */
    revisionBefore(t: number): number | undefined {
        let lo = 0;
        let hi = this.revisionEnds.length;
        while (lo < hi) {
            const mid = (lo + hi) >> 1;
            if (this.revisionEnds[mid] < t) lo = mid + 1;
            else hi = mid;
        }
        return lo === 0 ? undefined : this.revisionMax[lo - 1];
    }

    /**
     * Instances whose registration or heartbeat was acknowledged before `start` and cannot have
     * expired by `end` (the TTL runs from when the registry handled it, after it was sent).
     */
    liveInstances(start: number, end: number, service?: string): { id: string; service: string }[] {
        const out: { id: string; service: string }[] = [];
        for (const [id, i] of this.instances) {
            if (service !== undefined && i.service !== service) continue;
            const latest = Math.max(-Infinity, ...i.renewals.filter((r) => r.acked < start).map((r) => r.sent));
            if (latest + i.ttlMs - EXPIRY_MARGIN_MS > end) out.push({ id, service: i.service });
        }
        return out;
    }

    rulesAckedBefore(t: number): string[] {
        return [...this.rules].filter(([, at]) => at < t).map(([id]) => id);
    }

    allRules(): string[] {
        return [...this.rules.keys()];
    }

    allInstances(): string[] {
        return [...this.instances.keys()];
    }
}

function missingOf(expected: string[], got: string[]): string[] {
    const have = new Set(got);
    return expected.filter((x) => !have.has(x));
}

function describeMissing(what: string, expected: number, got: number, missing: number): string {
    return got === 0 ? `empty ${what} (expected ${expected})` : `partial ${what}: ${missing} of ${expected} missing`;
}

/** Why a 2xx answer contradicts the ledger, or undefined when it is consistent. */
export function contradiction(ledger: Ledger, kind: RequestKind, start: number, end: number, body: any, service?: string): string | undefined {
    switch (kind) {
        case "listServices": {
            const expected = [...new Set(ledger.liveInstances(start, end).map((i) => i.service))];
            const got: string[] = Array.isArray(body?.services) ? body.services : [];
            const missing = missingOf(expected, got);
            return missing.length > 0 ? describeMissing("service list", expected.length, got.length, missing.length) : undefined;
        }
        case "getService":
        case "listInstances": {
            const expected = ledger.liveInstances(start, end, kind === "getService" ? service : undefined).map((i) => i.id);
            const got: string[] = Array.isArray(body?.instances) ? body.instances.map((i: { id?: string }) => String(i?.id)) : [];
            const missing = missingOf(expected, got);
            return missing.length > 0 ? describeMissing(kind === "getService" ? "service instances" : "instance list", expected.length, got.length, missing.length) : undefined;
        }
        case "getRules": {
            const expected = ledger.rulesAckedBefore(start);
            const got: string[] = Array.isArray(body?.rules) ? body.rules.map((r: { id?: string }) => String(r?.id)) : [];
            const missing = missingOf(expected, got);
            if (missing.length > 0) return describeMissing("rule list", expected.length, got.length, missing.length);
            const seen = ledger.revisionBefore(start);
            const revision = Number(body?.revision);
            if (!Number.isInteger(revision)) return "no revision";
            if (seen !== undefined && revision < seen) return `revision went backwards (${revision} < ${seen})`;
            return undefined;
        }
        default:
            return undefined;
    }
}

// ---------------------------------------------------------------------------------------------
// Figures

export interface FaultRecord {
    kind: "kill" | "freeze";
    /** Node index, or "all" for the freeze. */
    node: number | "all";
    start: number;
    recovered: number;
}

export interface FaultFigures {
    fault: FaultRecord | undefined;
    requests: number;
    failed: number;
    wrong: number;
    errorWindowSeconds: number;
    p99Ms: number;
    maxMs: number;
}

export interface BenchResult {
    images: Amalgam8Variant;
    records: RequestRecord[];
    faults: FaultRecord[];
    /** Index 0: the steady traffic before the first fault; then one per fault. */
    perFault: FaultFigures[];
    ackedWritesLost: number;
    revisionsWentBack: number;
    /** Rule changes stored without their revision bump (revision behind the rule count at the end). */
    rulesWithoutRevision: number;
    wrongByKind: Record<string, number>;
}

const isFailed = (r: RequestRecord): boolean => r.status === undefined || r.status < 200 || r.status > 299;

function percentile(xs: number[], p: number): number {
    if (xs.length === 0) return 0;
    const s = [...xs].sort((a, b) => a - b);
    return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

export function median(xs: number[]): number {
    if (xs.length === 0) return 0;
    const s = [...xs].sort((a, b) => a - b);
    const m = Math.floor(s.length / 2);
    return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const round = (x: number, d = 2): number => Math.round(x * 10 ** d) / 10 ** d;

/** Figures of the requests sent before the first fault (steady) and after each fault until the next. */
export function figuresPerFault(records: RequestRecord[], faults: FaultRecord[]): FaultFigures[] {
    const bounds = [-Infinity, ...faults.map((f) => f.start), Infinity];
    const out: FaultFigures[] = [];
    for (let i = 0; i + 1 < bounds.length; i++) {
        const rs = records.filter((r) => r.start >= bounds[i] && r.start < bounds[i + 1]);
        const bad = rs.filter((r) => isFailed(r) || r.wrong !== undefined);
        const latencies = rs.map((r) => r.end - r.start);
        out.push({
            fault: i === 0 ? undefined : faults[i - 1],
            requests: rs.length,
            failed: rs.filter(isFailed).length,
            wrong: rs.filter((r) => r.wrong !== undefined).length,
            errorWindowSeconds: bad.length === 0 ? 0 : round((Math.max(...bad.map((r) => r.end)) - Math.min(...bad.map((r) => r.start))) / 1000),
            p99Ms: percentile(latencies, 99),
            maxMs: latencies.length === 0 ? 0 : Math.max(...latencies),
        });
    }
    return out;
}

/** The `--json` line: exactly the keys the issue lists. */
export function summary(r: BenchResult): Record<string, unknown> {
    const faults = r.perFault.slice(1);
    const latencies = r.records.map((x) => x.end - x.start);
    return {
        faults: r.faults.length,
        images: r.images,
        requests: r.records.length,
        failedRequests: { perFault: { median: median(faults.map((f) => f.failed)), max: Math.max(0, ...faults.map((f) => f.failed)) } },
        wrongAnswers: {
            total: r.records.filter((x) => x.wrong !== undefined).length,
            perFault: { median: median(faults.map((f) => f.wrong)), max: Math.max(0, ...faults.map((f) => f.wrong)) },
        },
        ackedWritesLost: r.ackedWritesLost,
        revisionRegressions: r.revisionsWentBack + r.rulesWithoutRevision,
        errorWindowSeconds: { median: round(median(faults.map((f) => f.errorWindowSeconds))), max: Math.max(0, ...faults.map((f) => f.errorWindowSeconds)) },
        latencyMs: { p99: percentile(latencies, 99), max: latencies.length === 0 ? 0 : Math.max(...latencies) },
    };
}

/** Goals of the issue; the kills are judged apart from the freeze (10 s without any Redis). */
function goals(r: BenchResult): { goal: string; met: boolean }[] {
    const kills = r.perFault.slice(1).filter((f) => f.fault?.kind === "kill");
    const s = summary(r) as any;
    const common = [
        { goal: "0 acked writes lost", met: r.ackedWritesLost === 0 },
        { goal: "0 revision regressions", met: s.revisionRegressions === 0 },
    ];
    if (r.images === "patched") {
        return [
            { goal: "0 wrong answers", met: s.wrongAnswers.total === 0 },
            { goal: "per kill median failed <= 5", met: median(kills.map((f) => f.failed)) <= 5 },
            ...common,
        ];
    }
    return [
        { goal: "per kill median failed <= 30", met: median(kills.map((f) => f.failed)) <= 30 },
        { goal: "per kill median wrong <= 8", met: median(kills.map((f) => f.wrong)) <= 8 },
        { goal: "max latency <= 5 s (kills)", met: Math.max(0, ...kills.map((f) => f.maxMs)) <= 5000 },
        ...common,
    ];
}

export function table(r: BenchResult): string {
    const rows = [["", "fault", "node", "requests", "failed", "wrong", "error window s", "p99 ms", "max ms"]];
    r.perFault.forEach((f, i) => {
        rows.push([
            i === 0 ? "steady" : String(i),
            f.fault?.kind ?? "-",
            f.fault === undefined ? "-" : String(f.fault.node),
            String(f.requests),
            String(f.failed),
            String(f.wrong),
            f.errorWindowSeconds.toFixed(2),
            String(f.p99Ms),
            String(f.maxMs),
        ]);
    });
    const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => row[c].length)));
    const lines = rows.map((row) => row.map((cell, c) => (c < 3 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join("  "));
    const kills = r.perFault.slice(1).filter((f) => f.fault?.kind === "kill");
    const s = summary(r) as any;
    lines.push(
        "",
        `images: ${r.images}; ${r.records.length} requests; kills: median failed ${median(kills.map((f) => f.failed))}, median wrong ${median(kills.map((f) => f.wrong))}, max latency ${Math.max(0, ...kills.map((f) => f.maxMs))} ms`,
        `wrong answers by kind: ${Object.entries(r.wrongByKind).map(([k, n]) => `${k} ${n}`).join(", ") || "none"}`,
        `acked writes lost: ${r.ackedWritesLost}; revisions that went backwards: ${r.revisionsWentBack}; rule changes without a revision bump: ${r.rulesWithoutRevision}`,
        `latency over the run: p99 ${s.latencyMs.p99} ms, max ${s.latencyMs.max} ms`,
        `goals (${r.images}): ${goals(r).map((g) => `${g.goal} ${g.met ? "met" : "MISSED"}`).join("; ")}`,
    );
    return lines.join("\n");
}

// ---------------------------------------------------------------------------------------------
// Running it

const log = (msg: string): void => {
    process.stderr.write(`${msg}\n`);
};

/** Builds (or finds up to date) the binaries of a variant with tools/amalgam8/build.sh. */
function buildImages(images: Amalgam8Variant): void {
    const args = [path.join(REPO_ROOT, "tools", "amalgam8", "build.sh"), ...(images === "patched" ? ["--patches", path.join(REPO_ROOT, PATCH_SERIES_DIR)] : [])];
    const r = spawnSync("bash", args, { stdio: ["ignore", process.stderr, process.stderr], timeout: 15 * 60 * 1000 });
    if (r.status !== 0) throw new Error(`tools/amalgam8/build.sh ${args.slice(1).join(" ")} failed (exit ${String(r.status)})`);
}

async function renderStack(): Promise<{ objects: K8sObject[]; outputs: Record<string, { value: unknown }> }> {
    const run = await runProgram(loadStackConfig(REPO_ROOT, STACK));
    const objects = run.resources
        .map((r) => asK8sObject(r.type, r.inputs))
        .filter((o): o is K8sObject => o !== undefined)
        .map((o) => unwrapSecrets(o) as K8sObject);
    return { objects, outputs: run.outputs };
}

interface Answer {
    status?: number;
    body?: any;
    error?: string;
}

async function call(method: string, url: string, body?: unknown): Promise<Answer> {
    try {
        const { status, body: parsed } = await requestJson(method, url, { body, timeoutMs: CLIENT_TIMEOUT_MS });
        return { status, body: parsed };
    } catch (e) {
        return { error: (e as Error).message };
    }
}

/** The sidecar-like load on the replicas, recording every request against the ledger. */
class Traffic {
    readonly records: RequestRecord[] = [];
    readonly ledger = new Ledger();
    private readonly inFlight = new Set<Promise<void>>();
    private running = false;
    private loops: Promise<void>[] = [];
    private seq = 0;
    private writes = 0;
    private readonly instances: { id: string; service: string }[] = [];
    private readonly services: string[];

    constructor(private readonly controllers: string[], private readonly registries: string[], private readonly runId: string) {
        this.services = Array.from({ length: SEED.services }, (_, i) => `bench-${runId}-svc${i}`);
    }

    /** Registers the instances and writes the first rules (before any fault; every call must succeed). */
    async seed(): Promise<void> {
        for (const service of this.services) {
            for (let k = 0; k < SEED.instancesPerService; k++) {
                const sentAt = Date.now();
                const a = await call("POST", `${this.registries[0]}/api/v1/instances`, {
                    service_name: service,
                    // Documentation addresses (RFC 5737): registered, never contacted.
                    endpoint: { type: "http", value: `192.0.2.${this.instances.length + 1}:9080` },
                    ttl: SEED.ttlSeconds,
                });
                if (a.status !== 201 || typeof a.body?.id !== "string") throw new Error(`seeding: POST /api/v1/instances answered ${a.status ?? a.error}`);
                this.instances.push({ id: a.body.id, service });
                this.ledger.renewed(a.body.id, service, sentAt, Date.now(), SEED.ttlSeconds * 1000);
            }
        }
        for (let k = 0; k < SEED.rules; k++) {
            const a = await this.postRule(this.controllers[0]);
            if (a.status !== 201) throw new Error(`seeding: POST /v1/rules answered ${a.status ?? a.error}`);
        }
    }

    private postRule(base: string): Promise<Answer> {
        const n = this.writes++;
        return call("POST", `${base}/v1/rules`, {
            rules: [{ destination: this.services[n % this.services.length], priority: 1 + (n % 100), tags: [this.runId], route: { backends: [{ tags: [`v${n}`] }] } }],
        }).then((a) => {
            const id = a.body?.ids?.[0];
            if (a.status !== undefined && a.status >= 200 && a.status < 300 && typeof id === "string") this.ledger.ruleAcked(id, Date.now());
            return a;
        });
    }

    start(): void {
        this.running = true;
        this.loops = [this.ticker(REQUEST_INTERVAL_MS, () => this.next()), this.ticker(WRITE_INTERVAL_MS, () => this.write())];
    }

    async stop(): Promise<void> {
        this.running = false;
        await Promise.all(this.loops);
        // Every request has a client timeout; this bound only guards against a hung fetch.
        const deadline = sleep(CLIENT_TIMEOUT_MS + 5000);
        await Promise.race([Promise.all([...this.inFlight]), deadline]);
    }

    /** Starts `op` every `intervalMs` (open loop: slow answers do not slow the load). */
    private async ticker(intervalMs: number, op: () => Promise<void>): Promise<void> {
        let next = Date.now();
        while (this.running) {
            if (this.inFlight.size < MAX_IN_FLIGHT) {
                const p = op().finally(() => this.inFlight.delete(p));
                this.inFlight.add(p);
            }
            next += intervalMs;
            await sleep(Math.max(0, next - Date.now()));
        }
    }

    private async record(kind: RequestKind, replica: number, send: () => Promise<Answer>, service?: string, onOk?: (a: Answer, start: number, end: number) => void): Promise<void> {
        const start = Date.now();
        const a = await send();
        const end = Date.now();
        const rec: RequestRecord = { kind, replica, start, end, status: a.status, error: a.error };
        if (!isFailed(rec)) {
            rec.wrong = contradiction(this.ledger, kind, start, end, a.body, service);
            onOk?.(a, start, end);
            if (kind === "getRules" && Number.isInteger(Number(a.body?.revision))) this.ledger.revisionAnswered(Number(a.body.revision), end);
        }
        this.records.push(rec);
    }

    private next(): Promise<void> {
        const n = this.seq++;
        const kinds: RequestKind[] = ["listServices", "getService", "listInstances", "heartbeat", "getRules"];
        const kind = kinds[n % kinds.length];
        // Alternate replicas across rounds so that each kind reaches both.
        const replica = Math.floor(n / kinds.length) % 2;
        const registry = this.registries[replica % this.registries.length];
        const controller = this.controllers[replica % this.controllers.length];
        const round = Math.floor(n / kinds.length);
        switch (kind) {
            case "listServices":
                return this.record(kind, replica, () => call("GET", `${registry}/api/v1/services`));
            case "getService": {
                const service = this.services[round % this.services.length];
                return this.record(kind, replica, () => call("GET", `${registry}/api/v1/services/${service}`), service);
            }
            case "listInstances":
                return this.record(kind, replica, () => call("GET", `${registry}/api/v1/instances`));
            case "heartbeat": {
                const inst = this.instances[round % this.instances.length];
                return this.record(kind, replica, () => call("PUT", `${registry}/api/v1/instances/${inst.id}/heartbeat`), inst.service, (_a, start, end) =>
                    this.ledger.renewed(inst.id, inst.service, start, end, SEED.ttlSeconds * 1000),
                );
            }
            default:
                return this.record(kind, replica, () => call("GET", `${controller}/v1/rules`));
        }
    }

    /** `n` concurrent list requests to every replica, recorded like the rest. */
    async burst(n: number): Promise<void> {
        const calls: Promise<void>[] = [];
        for (let i = 0; i < n; i++) {
            this.registries.forEach((base, replica) => calls.push(this.record("listServices", replica, () => call("GET", `${base}/api/v1/services`))));
            this.controllers.forEach((base, replica) => calls.push(this.record("getRules", replica, () => call("GET", `${base}/v1/rules`))));
        }
        await Promise.all(calls);
    }

    private write(): Promise<void> {
        const replica = this.writes % 2;
        return this.record("writeRule", replica, () => this.postRule(this.controllers[replica % this.controllers.length]));
    }

    /** After the run: acknowledged rules and registered instances every replica must still serve. */
    async lostWrites(): Promise<{ lost: number; rulesWithoutRevision: number; detail: string[] }> {
        const detail: string[] = [];
        let lost = 0;
        let rulesWithoutRevision = 0;
        for (const base of this.controllers) {
            const a = await call("GET", `${base}/v1/rules`);
            if (a.status !== 200) throw new Error(`final check: GET ${base}/v1/rules answered ${a.status ?? a.error}`);
            const ids: string[] = (a.body?.rules ?? []).map((r: { id: string }) => r.id);
            const missing = missingOf(this.ledger.allRules(), ids);
            lost += missing.length;
            if (missing.length > 0) detail.push(`${base}: ${missing.length} acknowledged rule(s) missing`);
            // Only this run writes rules and never deletes one: every stored rule must have bumped the revision.
            rulesWithoutRevision = Math.max(rulesWithoutRevision, ids.length - Number(a.body?.revision));
        }
        for (const base of this.registries) {
            const a = await call("GET", `${base}/api/v1/instances`);
            if (a.status !== 200) throw new Error(`final check: GET ${base}/api/v1/instances answered ${a.status ?? a.error}`);
            const ids: string[] = (a.body?.instances ?? []).map((i: { id: string }) => i.id);
            const now = Date.now();
            const missing = missingOf(this.ledger.liveInstances(now, now).map((i) => i.id), ids);
            lost += missing.length;
            if (missing.length > 0) detail.push(`${base}: ${missing.length} registered instance(s) missing`);
        }
        return { lost, rulesWithoutRevision, detail };
    }
}

async function healthyAfter(cluster: RedisHaCluster, what: string): Promise<void> {
    await cluster.waitHealthy(90000).catch((e: Error) => {
        throw new Error(`the cluster did not recover after ${what}: ${e.message}\n${cluster.logs(15)}`);
    });
}

/** Runs the whole benchmark; every process it starts is stopped (by pid) before it returns. */
export async function runControlPlaneBench(o: BenchOptions, progress: (msg: string) => void = log): Promise<BenchResult> {
    const stack = await renderStack();
    progress(`bench:control-plane: starting 2 controllers, 2 registries (${o.images}) and the HA Redis of the ${STACK} stack`);
    let cp: LoopbackControlPlane | undefined;
    let traffic: Traffic | undefined;
    try {
        cp = await startRenderedControlPlane(stack, { variant: o.images, maxReplicas: 2 });
        await cp.waitReady();
        const cluster = cp.redis.cluster;
        if (!cluster) throw new Error(`the ${STACK} stack does not render Redis in ha mode`);
        if (cp.controllers.length < 2 || cp.registries.length < 2) throw new Error(`the ${STACK} stack renders fewer than 2 replicas of each service`);
        traffic = new Traffic(
            cp.controllers.map((c) => c.url),
            cp.registries.map((r) => r.url),
            Date.now().toString(36),
        );
        await traffic.seed();
        traffic.start();
        progress(`bench:control-plane: seeded; steady traffic for ${o.steadyMs / 1000} s`);
        await sleep(o.steadyMs);

        const faults: FaultRecord[] = [];
        const spaced = async (): Promise<void> => {
            const last = faults[faults.length - 1];
            if (!last) return;
            // Sentinel fails over the same master again only after 2 x failover-timeout; let
            // steady traffic show the recovery too.
            await sleep(Math.max(last.start + cluster.faultSpacingMs, last.recovered + o.steadyMs) - Date.now());
        };
        for (let k = 0; k < o.kills; k++) {
            await spaced();
            if (o.burstBeforeFault > 0) await traffic.burst(o.burstBeforeFault);
            const master = await waitFor("a master named by a quorum of Sentinels", 30000, () => cluster.sentinelMaster());
            const fault: FaultRecord = { kind: "kill", node: master, start: Date.now(), recovered: 0 };
            faults.push(fault);
            await cluster.killRedis(master);
            await cluster.waitForNewMaster(master, 30000);
            await cluster.restartRedis(master);
            await healthyAfter(cluster, `kill ${k + 1}`);
            fault.recovered = Date.now();
            progress(`bench:control-plane: kill ${k + 1}/${o.kills} of node ${master}: recovered after ${((fault.recovered - fault.start) / 1000).toFixed(1)} s`);
        }
        if (o.freeze) {
            await spaced();
            if (o.burstBeforeFault > 0) await traffic.burst(o.burstBeforeFault);
            const fault: FaultRecord = { kind: "freeze", node: "all", start: Date.now(), recovered: 0 };
            faults.push(fault);
            for (let i = 0; i < cluster.nodeCount; i++) cluster.freezeRedis(i);
            try {
                await sleep(FREEZE_MS);
            } finally {
                for (let i = 0; i < cluster.nodeCount; i++) cluster.resumeRedis(i);
            }
            await healthyAfter(cluster, "the freeze");
            fault.recovered = Date.now();
            progress(`bench:control-plane: ${FREEZE_MS / 1000} s freeze of every Redis server: recovered after ${((fault.recovered - fault.start) / 1000).toFixed(1)} s`);
        }
        await sleep(o.steadyMs);
        await traffic.stop();

        const final = await traffic.lostWrites();
        for (const d of final.detail) progress(`bench:control-plane: ${d}`);
        const records = traffic.records;
        const wrongByKind: Record<string, number> = {};
        for (const r of records) {
            if (r.wrong === undefined) continue;
            const key = `${r.kind}: ${r.wrong.replace(/\(.*\)|\d+ of \d+/g, "").replace(/\s+/g, " ").trim()}`;
            wrongByKind[key] = (wrongByKind[key] ?? 0) + 1;
        }
        return {
            images: o.images,
            records,
            faults,
            perFault: figuresPerFault(records, faults),
            ackedWritesLost: final.lost,
            revisionsWentBack: records.filter((r) => r.wrong?.startsWith("revision went backwards")).length,
            rulesWithoutRevision: Math.max(0, final.rulesWithoutRevision),
            wrongByKind,
        };
    } finally {
        await traffic?.stop();
        await cp?.stop();
    }
}

async function main(): Promise<number> {
    let o: BenchOptions;
    try {
        o = parseArgs(process.argv.slice(2));
    } catch (e) {
        if (e instanceof UsageError) {
            process.stderr.write(`bench:control-plane: ${e.message}; ${USAGE}\n`);
            return 2;
        }
        throw e;
    }
    for (const sig of ["SIGINT", "SIGTERM"] as const) {
        process.once(sig, () => {
            log(`bench:control-plane: ${sig}, stopping`);
            // The loopback harness kills every process it started on exit.
            process.exit(130);
        });
    }
    buildImages(o.images);
    const r = await runControlPlaneBench(o);
    if (o.json) {
        // The table goes to stderr so that stdout is the one JSON line.
        log(table(r));
        process.stdout.write(`${JSON.stringify(summary(r))}\n`);
    } else {
        process.stdout.write(`${table(r)}\n`);
    }
    // Figures are reported; lost writes are a defect.
    return r.ackedWritesLost > 0 ? 1 : 0;
}

if (require.main === module) {
    main().then(
        (code) => process.exit(code),
        (e: unknown) => {
            process.stderr.write(`bench:control-plane: ${e instanceof Error ? e.message : String(e)}\n`);
            process.exit(1);
        },
    );
}
