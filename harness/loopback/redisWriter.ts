/**
 * Continuous writers through one address (HAProxy), as a client pool does it: unique-key SET
 * (+ WAIT 1 unless told otherwise) per request, then the checks on what they recorded (acknowledged writes lost, writes a
 * stale master accepted).
 */
import Redis from "ioredis";
import { Endpoint, sleep, waitFor } from "../../cli/process";
import { connect } from "./redisClient";
import type { LayoutTopology } from "./redisTopology";
import { MasterSwitch } from "./sentinelEvents";

export interface WriteRecord {
    key: string;
    /** When the SET was sent. */
    tSend: number;
    tDone: number;
    /** Node that served the connection (by the server's local port), if known. */
    node: number | undefined;
    setOk: boolean;
    acked: boolean;
    error?: string;
}

export interface WriterOptions {
    endpoint: Endpoint;
    password: string;
    nodeOfPort: (port: number) => number | undefined;
    writers?: number;
    intervalMs?: number;
    waitTimeoutMs?: number;
    commandTimeoutMs?: number;
    reconnectDelayMs?: number;
    keyPrefix?: string;
    /** WAIT 1 after each SET (default); without it a write counts as acknowledged on the SET's OK, as the control plane's do. */
    waitForReplica?: boolean;
}

/**
 * Writers through the single address, each doing unique-key SET + WAIT 1 on one connection;
 * any error drops the connection and reconnects (short timeouts, like a well-configured pool).
 */
export class ContinuousWriter {
    readonly records: WriteRecord[] = [];
    readonly connectFailures: number[] = [];
    private running = false;
    private loops: Promise<void>[] = [];
    private readonly o: Required<WriterOptions>;

    constructor(opts: WriterOptions) {
        this.o = {
            writers: 4,
            intervalMs: 10,
            waitTimeoutMs: 1000,
            commandTimeoutMs: 2000,
            reconnectDelayMs: 50,
            keyPrefix: `w${Date.now().toString(36)}`,
            waitForReplica: true,
            ...opts,
        };
    }

    start(): void {
        if (this.running) return;
        this.running = true;
        this.loops = Array.from({ length: this.o.writers }, (_, w) => this.loop(w));
    }

    async stop(): Promise<void> {
        this.running = false;
        await Promise.all(this.loops);
    }

    private async open(): Promise<{ client: Redis; node: number | undefined } | undefined> {
        const client = connect(this.o.endpoint, this.o.password, this.o.commandTimeoutMs);
        try {
            await client.connect();
            const info = String(await client.call("CLIENT", "INFO"));
            const m = /laddr=\S*:(\d+)/.exec(info);
            return { client, node: m ? this.o.nodeOfPort(Number(m[1])) : undefined };
        } catch {
            client.disconnect();
            return undefined;
        }
    }

    private async loop(w: number): Promise<void> {
        let conn: { client: Redis; node: number | undefined } | undefined;
        let seq = 0;
        while (this.running) {
            if (!conn) {
                conn = await this.open();
                if (!conn) {
                    this.connectFailures.push(Date.now());
                    await sleep(this.o.reconnectDelayMs);
                    continue;
                }
            }
            const key = `${this.o.keyPrefix}:${w}:${seq++}`;
            const rec: WriteRecord = { key, tSend: Date.now(), tDone: 0, node: conn.node, setOk: false, acked: false };
            try {
                const pipeline = conn.client.pipeline().set(key, key);
                if (this.o.waitForReplica) pipeline.call("WAIT", "1", String(this.o.waitTimeoutMs));
                const [setRes, waitRes] = (await pipeline.exec()) ?? [];
                rec.setOk = !setRes?.[0] && setRes?.[1] === "OK";
                rec.acked = rec.setOk && (!this.o.waitForReplica || (!waitRes?.[0] && Number(waitRes?.[1]) >= 1));
                const err = setRes?.[0] ?? waitRes?.[0];
                if (err) rec.error = err.message;
                else if (!rec.acked) rec.error = `WAIT ${String(waitRes?.[1])}`;
            } catch (e) {
                rec.error = e instanceof Error ? e.message : String(e);
            }
            rec.tDone = Date.now();
            this.records.push(rec);
            if (!rec.acked) {
                // NOREPLICAS, READONLY, timeouts: the connection may sit on the wrong node.
                conn.client.disconnect();
                conn = undefined;
                await sleep(this.o.reconnectDelayMs);
            } else {
                await sleep(this.o.intervalMs);
            }
        }
        conn?.client.disconnect();
    }

    ackedKeys(): string[] {
        return this.records.filter((r) => r.acked).map((r) => r.key);
    }

    /** First acknowledged write sent at or after t (ms), optionally by a node other than `exceptNode`. */
    firstAckAfter(t: number, exceptNode?: number): WriteRecord | undefined {
        let best: WriteRecord | undefined;
        for (const r of this.records) {
            if (r.acked && r.tSend >= t && (exceptNode === undefined || r.node !== exceptNode) && (!best || r.tDone < best.tDone)) best = r;
        }
        return best;
    }

    failedBetween(t0: number, t1: number): WriteRecord[] {
        return this.records.filter((r) => !r.acked && r.tSend >= t0 && r.tSend <= t1);
    }

    connectFailuresBetween(t0: number, t1: number): number {
        return this.connectFailures.filter((t) => t >= t0 && t <= t1).length;
    }

    /**
     * Writes a node accepted (SET OK) after the Sentinels had switched the master away from it
     * and before any switch back: acknowledged or not, a client was told OK by a stale master.
     */
    staleMasterWrites(switches: MasterSwitch[]): WriteRecord[] {
        return this.records.filter((r) => {
            if (!r.setOk || r.node === undefined) return false;
            let lastAway: number | undefined;
            let lastTo: number | undefined;
            for (const s of switches) {
                if (s.t > r.tSend) break;
                if (s.from === r.node) lastAway = s.t;
                if (s.to === r.node) lastTo = s.t;
            }
            return lastAway !== undefined && (lastTo === undefined || lastTo < lastAway);
        });
    }
}

/**
 * Clients as the control plane writes (one SET at a time, no WAIT, acknowledged on OK), two per
 * HAProxy of the cluster: writer j goes through HAProxy j, its keys start with `${keyPrefix}-j`.
 */
export function plainWritersPerHaproxy(c: LayoutTopology, keyPrefix: string): ContinuousWriter[] {
    return c.haproxyEndpoints.map(
        (endpoint, j) =>
            new ContinuousWriter({
                endpoint,
                password: c.password,
                nodeOfPort: (p) => c.nodeOfPort(p),
                waitForReplica: false,
                writers: 2,
                keyPrefix: `${keyPrefix}-${j}`,
            }),
    );
}

/** Keys (of `keys`) that cannot be read back with their value through `ep`. */
async function missingKeys(ep: Endpoint, password: string, keys: string[]): Promise<string[]> {
    const c = connect(ep, password, 10000);
    try {
        await c.connect();
        const missing: string[] = [];
        for (let i = 0; i < keys.length; i += 1000) {
            const batch = keys.slice(i, i + 1000);
            const vals = await c.mget(...batch);
            vals.forEach((v, j) => {
                if (v !== batch[j]) missing.push(batch[j]);
            });
        }
        return missing;
    } finally {
        c.disconnect();
    }
}

/** The acked keys that cannot be read back; retries (bounded) while the proxy has no master. */
export async function verifyAckedWrites(ep: Endpoint, password: string, keys: string[], timeoutMs = 20000): Promise<string[]> {
    return waitFor("the acknowledged writes to be readable through HAProxy", timeoutMs, async () => missingKeys(ep, password, keys), 500);
}
