/**
 * Loopback Redis HA cluster for tests and the failover benchmark: 3 redis-server, 3 Sentinels and
 * one HAProxy on 127.0.0.1, configured by the same generator as production
 * (components/redis/haConfig.ts) and started through its scripts. Every process is tracked by
 * its pid and stopped by it; every wait is bounded.
 */
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import Redis from "ioredis";
import {
    HAPROXY_PASSWORD_ENV,
    REDIS_HA_FILES,
    RedisHaLayout,
    RedisHaTimings,
    SCRIPT_ENV,
    buildRedisHaLayout,
    minimumFaultSpacingMs,
    preStopBudgetSeconds,
    recommendedTimings,
    renderRedisHaFiles,
} from "../../components/redis/haConfig";
import { Endpoint, ManagedProcess, WaitAborted, freePorts, launch, makeTempDir, removeTempDir, sleep, tailFile, waitFor } from "./process";
import { REDIS_HA_PREREQUISITES, requirePrerequisites } from "./prerequisites";

// Kept here for the harness's existing importers.
export { ManagedProcess, WaitAborted, freePorts, sleep, waitFor };
export type { Endpoint };

// ---------------------------------------------------------------------------------------------
// Redis helpers


export function connect(ep: Endpoint, password: string, timeoutMs = 1000): Redis {
    const c = new Redis({
        host: ep.host,
        port: ep.port,
        password,
        lazyConnect: true,
        enableOfflineQueue: false,
        enableReadyCheck: false,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
        autoResubscribe: false,
        autoResendUnfulfilledCommands: false,
        connectTimeout: timeoutMs,
        commandTimeout: timeoutMs,
    });
    c.on("error", () => undefined);
    return c;
}

/** One command on a short-lived connection. */
export async function command(ep: Endpoint, password: string, args: string[], timeoutMs = 1000): Promise<unknown> {
    const c = connect(ep, password, timeoutMs);
    try {
        await c.connect();
        return await c.call(args[0], ...args.slice(1));
    } finally {
        c.disconnect();
    }
}

export function parseInfo(text: unknown): Record<string, string> {
    const out: Record<string, string> = {};
    if (typeof text !== "string") return out;
    for (const line of text.split(/\r?\n/)) {
        const i = line.indexOf(":");
        if (i > 0 && !line.startsWith("#")) out[line.slice(0, i)] = line.slice(i + 1);
    }
    return out;
}

// ---------------------------------------------------------------------------------------------
// Cluster

export interface ClusterOptions {
    timings?: RedisHaTimings;
    /** Shown in process names and the temp dir name. */
    label?: string;
    nodeCount?: number;
    /** Keep the temp dir after stop() (debugging). */
    keepDir?: boolean;
    /** The AUTH password (e.g. the one a rendered Secret holds); default: random. */
    password?: string;
}

export class RedisHaCluster {
    readonly password: string;
    private readonly redis = new Map<number, ManagedProcess>();
    private readonly sentinels = new Map<number, ManagedProcess>();
    private haproxy?: ManagedProcess;
    private stopped = false;

    private constructor(
        readonly label: string,
        readonly dir: string,
        readonly layout: RedisHaLayout,
        readonly files: Record<string, string>,
        private readonly keepDir: boolean,
        password: string | undefined,
    ) {
        this.password = password ?? `pw-${Math.random().toString(36).slice(2)}-${Date.now().toString(36)}`;
    }

    /** Starts node 0 (master), nodes 1..n-1, the Sentinels and HAProxy, and waits until writes are acknowledged. */
    static async start(opts: ClusterOptions = {}): Promise<RedisHaCluster> {
        requirePrerequisites(REDIS_HA_PREREQUISITES, "The loopback Redis HA cluster");
        const n = opts.nodeCount ?? 3;
        const label = opts.label ?? "redis-ha";
        const ports = await freePorts(2 * n + 2);
        const dir = makeTempDir(label, opts.keepDir);
        const templateDir = path.join(dir, "templates");
        const layout = buildRedisHaLayout({
            nodes: Array.from({ length: n }, (_, i) => ({ host: "127.0.0.1", redisPort: ports[i], sentinelPort: ports[n + i] })),
            timings: opts.timings ?? recommendedTimings,
            bind: "127.0.0.1",
            haproxy: { bind: "127.0.0.1", port: ports[2 * n], healthPort: ports[2 * n + 1] },
            paths: {
                templateDir,
                configDir: path.join(dir, "node-0", "conf"),
                dataDir: path.join(dir, "node-0", "data"),
                passwordFile: path.join(dir, "secret", "password"),
            },
        });
        const files = renderRedisHaFiles(layout);
        const cluster = new RedisHaCluster(label, dir, layout, files, opts.keepDir ?? false, opts.password);
        try {
            fs.mkdirSync(templateDir, { recursive: true });
            for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(templateDir, name), text, { mode: 0o444 });
            fs.mkdirSync(path.join(dir, "secret"), { recursive: true, mode: 0o700 });
            fs.writeFileSync(layout.paths.passwordFile, `${cluster.password}\n`, { mode: 0o400 });
            fs.mkdirSync(path.join(dir, "logs"));

            await cluster.startRedis(0);
            await Promise.all(Array.from({ length: n - 1 }, (_, i) => cluster.startRedis(i + 1)));
            for (let i = 0; i < n; i++) await cluster.startSentinel(i);
            await cluster.startHaproxy();
            await cluster.waitHealthy(30000);
            return cluster;
        } catch (e) {
            await cluster.stop();
            throw e;
        }
    }

    get nodeCount(): number {
        return this.layout.nodes.length;
    }

    get haproxyEndpoint(): Endpoint {
        return { host: this.layout.haproxy.bind, port: this.layout.haproxy.port };
    }

    redisEndpoint(i: number): Endpoint {
        return { host: this.layout.nodes[i].host, port: this.layout.nodes[i].redisPort };
    }

    sentinelEndpoint(i: number): Endpoint {
        return { host: this.layout.nodes[i].host, port: this.layout.nodes[i].sentinelPort };
    }

    /** Node index of a redis port, or undefined. */
    nodeOfPort(port: number): number | undefined {
        const i = this.layout.nodes.findIndex((n) => n.redisPort === port);
        return i < 0 ? undefined : i;
    }

    /** Spacing between crash faults that Sentinel's failover-timeout allows. */
    get faultSpacingMs(): number {
        return minimumFaultSpacingMs(this.layout.sentinel);
    }

    nodeDir(i: number): string {
        return path.join(this.dir, `node-${i}`);
    }

    /** The environment the generated scripts get for node i (k8s: the pod's env and mounts). */
    nodeEnv(i: number): NodeJS.ProcessEnv {
        return {
            PATH: process.env.PATH ?? "",
            HOME: os.tmpdir(),
            HOSTNAME: `redis-node-${i}`,
            [SCRIPT_ENV.ordinal]: String(i),
            [SCRIPT_ENV.templateDir]: this.layout.paths.templateDir,
            [SCRIPT_ENV.configDir]: path.join(this.nodeDir(i), "conf"),
            [SCRIPT_ENV.dataDir]: path.join(this.nodeDir(i), "data"),
            [SCRIPT_ENV.passwordFile]: this.layout.paths.passwordFile,
        };
    }

    private logFile(name: string): string {
        return path.join(this.dir, "logs", `${name}.log`);
    }

    private launch(name: string, cmd: string, args: string[], env: NodeJS.ProcessEnv): ManagedProcess {
        return launch(`${this.label}/${name}`, cmd, args, { env, logFile: this.logFile(name) }).process;
    }

    /** Runs start-redis.sh (init.sh redis, then exec redis-server) and waits for PING. */
    async startRedis(i: number, timeoutMs = 30000): Promise<void> {
        const prev = this.redis.get(i);
        if (prev?.running) throw new Error(`redis-${i} is still running (pid ${prev.pid})`);
        const script = path.join(this.layout.paths.templateDir, REDIS_HA_FILES.startRedis);
        const p = this.launch(`redis-${i}`, "sh", [script], this.nodeEnv(i));
        this.redis.set(i, p);
        await waitFor(`redis-${i} to answer PING`, timeoutMs, async () => {
            if (!p.running) throw new WaitAborted(`redis-${i} exited: ${this.tail(`redis-${i}`, 5)}`);
            return (await command(this.redisEndpoint(i), this.password, ["PING"], 500)) === "PONG";
        });
    }

    async startSentinel(i: number, timeoutMs = 15000): Promise<void> {
        const script = path.join(this.layout.paths.templateDir, REDIS_HA_FILES.startSentinel);
        const p = this.launch(`sentinel-${i}`, "sh", [script], this.nodeEnv(i));
        this.sentinels.set(i, p);
        await waitFor(`sentinel-${i} to answer PING`, timeoutMs, async () => {
            if (!p.running) throw new WaitAborted(`sentinel-${i} exited: ${this.tail(`sentinel-${i}`, 5)}`);
            return (await command(this.sentinelEndpoint(i), this.password, ["PING"], 500)) === "PONG";
        });
    }

    async startHaproxy(): Promise<void> {
        const cfg = path.join(this.layout.paths.templateDir, REDIS_HA_FILES.haproxyCfg);
        const env = { PATH: process.env.PATH ?? "", [HAPROXY_PASSWORD_ENV]: this.password };
        this.haproxy = this.launch("haproxy", "haproxy", ["-db", "-f", cfg], env);
        const health = this.layout.haproxy.healthPort;
        await waitFor("haproxy to listen", 10000, async () => {
            if (!this.haproxy?.running) throw new WaitAborted(`haproxy exited: ${this.tail("haproxy", 10)}`);
            return health === undefined ? true : await tcpProbe({ host: this.layout.haproxy.bind, port: health });
        });
    }

    redisProcess(i: number): ManagedProcess | undefined {
        return this.redis.get(i);
    }

    async info(i: number, section = "replication", timeoutMs = 1000): Promise<Record<string, string>> {
        return parseInfo(await command(this.redisEndpoint(i), this.password, ["INFO", section], timeoutMs));
    }

    /** Node index named by at least a quorum of Sentinels, or undefined. */
    async sentinelMaster(): Promise<number | undefined> {
        const votes = new Map<number, number>();
        await Promise.all(
            this.layout.nodes.map(async (_, s) => {
                try {
                    const r = await command(this.sentinelEndpoint(s), this.password, ["SENTINEL", "get-master-addr-by-name", this.layout.masterName], 1000);
                    if (Array.isArray(r) && r.length === 2) {
                        const node = this.nodeOfPort(Number(r[1]));
                        if (node !== undefined) votes.set(node, (votes.get(node) ?? 0) + 1);
                    }
                } catch {
                    // An unreachable Sentinel simply does not vote.
                }
            }),
        );
        for (const [node, v] of votes) if (v >= this.layout.quorum) return node;
        return undefined;
    }

    /** Waits until a quorum of Sentinels names a master other than `not`; returns its index. */
    async waitForNewMaster(not: number | undefined, timeoutMs: number): Promise<number> {
        return waitFor(`Sentinels to agree on a master other than node ${String(not)}`, timeoutMs, async () => {
            const m = await this.sentinelMaster();
            return m !== undefined && m !== not ? m : undefined;
        });
    }

    /** Replica of the current master with its link up, first sync done and a non-zero priority. */
    async isSyncedReplica(i: number): Promise<boolean> {
        const master = await this.sentinelMaster();
        if (master === undefined || master === i) return false;
        const info = await this.info(i, "replication", 500);
        return (
            info.role === "slave" &&
            Number(info.master_port) === this.layout.nodes[master].redisPort &&
            info.master_link_status === "up" &&
            info.master_sync_in_progress === "0" &&
            Number(info.slave_priority) > 0
        );
    }

    async waitForReplica(i: number, timeoutMs: number): Promise<void> {
        await waitFor(`node ${i} to rejoin as a synced replica`, timeoutMs, () => this.isSyncedReplica(i), 100);
    }

    /** Every Sentinel sees the others and every replica; every replica is synced; HAProxy acknowledges a write. */
    async waitHealthy(timeoutMs: number): Promise<void> {
        const n = this.nodeCount;
        await waitFor("a healthy cluster", timeoutMs, async () => {
            const master = await this.sentinelMaster();
            if (master === undefined) return false;
            for (let s = 0; s < n; s++) {
                const r = await command(this.sentinelEndpoint(s), this.password, ["SENTINEL", "MASTER", this.layout.masterName], 1000);
                const f = Array.isArray(r) ? pairs(r) : {};
                if (Number(f["num-slaves"]) !== n - 1 || Number(f["num-other-sentinels"]) !== n - 1) return false;
                if ((f.flags ?? "") !== "master") return false;
            }
            for (let i = 0; i < n; i++) if (i !== master && !(await this.isSyncedReplica(i))) return false;
            const c = connect(this.haproxyEndpoint, this.password, 1000);
            try {
                await c.connect();
                await c.set("__health__", String(Date.now()));
                return Number(await c.call("WAIT", "1", "1000")) >= 1;
            } finally {
                c.disconnect();
            }
        }, 250);
    }

    /** SIGKILL the redis-server of node i (its Sentinel keeps running); resolves with the time it was gone. */
    async killRedis(i: number): Promise<number> {
        const p = this.mustRedis(i);
        p.signal("SIGKILL");
        if (!(await p.waitExit(5000))) throw new Error(`redis-${i} survived SIGKILL`);
        return Date.now();
    }

    /** Deletes the data directory of a stopped node (a lost PersistentVolume). */
    wipeData(i: number): void {
        if (this.redis.get(i)?.running) throw new Error(`redis-${i} is running: stop it before wiping its data`);
        fs.rmSync(path.join(this.nodeDir(i), "data"), { recursive: true, force: true });
    }

    /** The runtime redis.conf that init.sh wrote for node i. */
    runtimeRedisConf(i: number): string {
        return fs.readFileSync(path.join(this.nodeDir(i), "conf", REDIS_HA_FILES.redisConf), "utf8");
    }

    /** Brings every node back (resume, restart) and waits until the cluster is healthy again. */
    async heal(timeoutMs = 60000): Promise<void> {
        for (let i = 0; i < this.nodeCount; i++) {
            const p = this.redis.get(i);
            if (p?.running) p.signal("SIGCONT");
            else await this.startRedis(i);
        }
        await this.waitHealthy(timeoutMs);
    }

    freezeRedis(i: number): void {
        this.mustRedis(i).signal("SIGSTOP");
    }

    resumeRedis(i: number): void {
        this.mustRedis(i).signal("SIGCONT");
    }

    /** Restarts node i's redis-server the way a pod restart does: start-redis.sh (init.sh + exec). */
    async restartRedis(i: number, timeoutMs = 60000): Promise<void> {
        const p = this.redis.get(i);
        if (p?.running) await p.stop(10000);
        await this.startRedis(i, timeoutMs);
    }

    /** Runs prestop.sh for node i with the node's environment; resolves with its exit code. */
    async runPreStop(i: number): Promise<{ code: number | null; output: string }> {
        const budgetMs = (preStopBudgetSeconds(this.layout) + 10) * 1000;
        const script = path.join(this.layout.paths.templateDir, REDIS_HA_FILES.preStop);
        const name = `prestop-${i}`;
        const p = this.launch(name, "sh", [script], this.nodeEnv(i));
        if (!(await p.waitExit(budgetMs))) {
            await p.stop(1000);
            throw new Error(`prestop.sh of node ${i} ran longer than ${budgetMs} ms`);
        }
        return { code: await p.exited, output: this.tail(name, 20) };
    }

    /** The pod-deletion path: preStop hook, then SIGTERM, then a fresh start through start-redis.sh. */
    async gracefulRestart(i: number): Promise<{ preStopOutput: string }> {
        const r = await this.runPreStop(i);
        if (r.code !== 0) throw new Error(`prestop.sh of node ${i} exited with ${String(r.code)}: ${r.output}`);
        await this.mustRedis(i).stop(15000);
        await this.startRedis(i);
        return { preStopOutput: r.output };
    }

    private mustRedis(i: number): ManagedProcess {
        const p = this.redis.get(i);
        if (!p?.running) throw new Error(`redis-${i} is not running`);
        return p;
    }

    /** The last lines of a process log (debugging aid for failing tests). */
    tail(name: string, lines = 30): string {
        return tailFile(this.logFile(name), lines);
    }

    /** Log tails of every process. */
    logs(lines = 30): string {
        try {
            return fs
                .readdirSync(path.join(this.dir, "logs"))
                .sort()
                .map((f) => `----- ${f}\n${this.tail(f.replace(/\.log$/, ""), lines)}`)
                .join("\n");
        } catch {
            return "(no logs)";
        }
    }

    /** Stops HAProxy, the Sentinels (so they start no failover meanwhile), then redis; removes the temp dir. */
    async stop(): Promise<void> {
        if (this.stopped) return;
        this.stopped = true;
        const errors: string[] = [];
        const stopAll = async (ps: (ManagedProcess | undefined)[], grace: number): Promise<void> => {
            await Promise.all(
                ps.map(async (p) => {
                    try {
                        await p?.stop(grace);
                    } catch (e) {
                        errors.push(e instanceof Error ? e.message : String(e));
                    }
                }),
            );
        };
        await stopAll([this.haproxy], 3000);
        await stopAll([...this.sentinels.values()], 3000);
        await stopAll([...this.redis.values()], 3000);
        if (!this.keepDir) removeTempDir(this.dir);
        if (errors.length > 0) throw new Error(`cluster ${this.label}: ${errors.join("; ")}`);
    }
}

function pairs(arr: unknown[]): Record<string, string> {
    const out: Record<string, string> = {};
    for (let i = 0; i + 1 < arr.length; i += 2) out[String(arr[i])] = String(arr[i + 1]);
    return out;
}

function tcpProbe(ep: Endpoint, timeoutMs = 500): Promise<boolean> {
    return new Promise((resolve) => {
        const s = net.connect(ep.port, ep.host);
        const done = (ok: boolean): void => {
            s.destroy();
            resolve(ok);
        };
        s.setTimeout(timeoutMs, () => done(false));
        s.once("connect", () => done(true));
        s.once("error", () => done(false));
    });
}

// ---------------------------------------------------------------------------------------------
// Sentinel events

export interface SentinelEvent {
    t: number;
    sentinel: number;
    channel: string;
    message: string;
}

export interface MasterSwitch {
    t: number;
    from: number | undefined;
    to: number | undefined;
}

/** Subscribes to every Sentinel's event channels and keeps a timeline. */
export class SentinelEvents {
    readonly events: SentinelEvent[] = [];
    private readonly subs: Redis[] = [];

    constructor(private readonly cluster: RedisHaCluster) {}

    async start(): Promise<void> {
        for (let s = 0; s < this.cluster.nodeCount; s++) {
            const c = connect(this.cluster.sentinelEndpoint(s), this.cluster.password, 2000);
            this.subs.push(c);
            await c.connect();
            c.on("pmessage", (_pattern: string, channel: string, message: string) => {
                this.events.push({ t: Date.now(), sentinel: s, channel, message });
            });
            await c.psubscribe("*");
        }
    }

    /** Master switches, each at the earliest time any Sentinel announced it. */
    switches(): MasterSwitch[] {
        const out: MasterSwitch[] = [];
        for (const e of [...this.events].sort((a, b) => a.t - b.t)) {
            if (e.channel !== "+switch-master") continue;
            // "<name> <old-host> <old-port> <new-host> <new-port>"
            const w = e.message.split(" ");
            const sw = { t: e.t, from: this.cluster.nodeOfPort(Number(w[2])), to: this.cluster.nodeOfPort(Number(w[4])) };
            // The other Sentinels repeat the same switch within moments.
            const dup = out.some((o) => o.from === sw.from && o.to === sw.to && sw.t - o.t < 5000);
            if (!dup) out.push(sw);
        }
        return out;
    }

    timeline(since: number): string {
        return this.events
            .filter((e) => e.t >= since && !e.channel.startsWith("__"))
            .map((e) => `+${((e.t - since) / 1000).toFixed(2)}s s${e.sentinel} ${e.channel} ${e.message}`)
            .join("\n");
    }

    stop(): void {
        for (const c of this.subs) c.disconnect();
        this.subs.length = 0;
    }
}

// ---------------------------------------------------------------------------------------------
// Continuous writer

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
                const res = await conn.client.pipeline().set(key, key).call("WAIT", "1", String(this.o.waitTimeoutMs)).exec();
                const [setRes, waitRes] = res ?? [];
                rec.setOk = !setRes?.[0] && setRes?.[1] === "OK";
                rec.acked = rec.setOk && !waitRes?.[0] && Number(waitRes?.[1]) >= 1;
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

/** Keys (of `keys`) that cannot be read back with their value through `ep`. */
export async function missingKeys(ep: Endpoint, password: string, keys: string[]): Promise<string[]> {
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
