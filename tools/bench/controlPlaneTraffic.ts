/**
 * Sidecar-like load on the control plane's replicas: seeded instances and rules, then an open loop
 * of reads alternating replicas and kinds, heartbeats and one rule write per second, every request
 * recorded and judged against the ledger of what was acknowledged before it started.
 */
import { requestJson } from "../../cli/smoke/http";
import { sleep } from "../../cli/process";
import { Ledger, RequestKind, contradiction, missingOf } from "../../cli/smoke/ledger";
import { RequestRecord, isFailed } from "./requests";

/** Sidecar-like load: one request every 32 ms (about 31/s) plus one rule write per second. */
const REQUEST_INTERVAL_MS = 32;
const WRITE_INTERVAL_MS = 1000;
/** Sidecars give up on a request after 30 s. */
const CLIENT_TIMEOUT_MS = 30000;
const MAX_IN_FLIGHT = 512;
const SEED = { services: 3, instancesPerService: 2, rules: 3, ttlSeconds: 20 };

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
export class Traffic {
    readonly records: RequestRecord[] = [];
    readonly ledger = new Ledger();
    private readonly inFlight = new Set<Promise<void>>();
    private running = false;
    private loops: Promise<void>[] = [];
    private seq = 0;
    private writes = 0;
    private readonly instances: { id: string; service: string }[] = [];
    private readonly services: string[];

    constructor(
        private readonly controllers: string[],
        private readonly registries: string[],
        private readonly runId: string,
    ) {
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
                if (a.status !== 201 || typeof a.body?.id !== "string")
                    throw new Error(`seeding: POST /api/v1/instances answered ${a.status ?? a.error}`);
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
            rules: [
                {
                    destination: this.services[n % this.services.length],
                    priority: 1 + (n % 100),
                    tags: [this.runId],
                    route: { backends: [{ tags: [`v${n}`] }] },
                },
            ],
        }).then((a) => {
            const id = a.body?.ids?.[0];
            if (a.status !== undefined && a.status >= 200 && a.status < 300 && typeof id === "string")
                this.ledger.ruleAcked(id, Date.now());
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

    private async record(
        kind: RequestKind,
        replica: number,
        send: () => Promise<Answer>,
        service?: string,
        onOk?: (a: Answer, start: number, end: number) => void,
    ): Promise<void> {
        const start = Date.now();
        const a = await send();
        const end = Date.now();
        const rec: RequestRecord = { kind, replica, start, end, status: a.status, error: a.error };
        if (!isFailed(rec)) {
            rec.wrong = contradiction(this.ledger, kind, start, end, a.body, service);
            onOk?.(a, start, end);
            if (kind === "getRules" && Number.isInteger(Number(a.body?.revision)))
                this.ledger.revisionAnswered(Number(a.body.revision), end);
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
                return this.record(
                    kind,
                    replica,
                    () => call("PUT", `${registry}/api/v1/instances/${inst.id}/heartbeat`),
                    inst.service,
                    (_a, start, end) => this.ledger.renewed(inst.id, inst.service, start, end, SEED.ttlSeconds * 1000),
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
            this.registries.forEach((base, replica) =>
                calls.push(this.record("listServices", replica, () => call("GET", `${base}/api/v1/services`))),
            );
            this.controllers.forEach((base, replica) =>
                calls.push(this.record("getRules", replica, () => call("GET", `${base}/v1/rules`))),
            );
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
            const missing = missingOf(
                this.ledger.liveInstances(now, now).map((i) => i.id),
                ids,
            );
            lost += missing.length;
            if (missing.length > 0) detail.push(`${base}: ${missing.length} registered instance(s) missing`);
        }
        return { lost, rulesWithoutRevision, detail };
    }
}
