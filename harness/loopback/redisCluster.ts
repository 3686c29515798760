/**
 * Loopback Redis HA cluster for tests and the failover benchmark: 3 redis-server, 3 Sentinels and
 * one HAProxy on 127.0.0.1, configured by the same generator as production
 * (components/redis/haConfig.ts) and started through its scripts. With `partitionLab`, each node
 * (redis-server and its Sentinel, as in a pod) and each HAProxy runs in a network namespace of its
 * own on a PartitionLab instead, so that a test can cut the links between them. Every process is
 * tracked by its pid and stopped by it; every wait is bounded. What the cluster says about itself
 * (master, replicas, health) is LayoutTopology's (redisTopology.ts); this class owns the
 * processes and the faults injected into them.
 */
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import {
    HAPROXY_PASSWORD_ENV,
    REDIS_HA_FILES,
    RedisHaLayout,
    RedisHaTimings,
    SCRIPT_ENV,
    buildRedisHaLayout,
    preStopBudgetSeconds,
    recommendedTimings,
    renderRedisHaFiles,
} from "../../components/redis/haConfig";
import { Endpoint, ManagedProcess, WaitAborted, freePorts, launch, makeTempDir, removeTempDir, tailFile, waitFor } from "../../cli/process";
import { PartitionLab } from "./partitionLab";
import { PARTITION_LAB_PREREQUISITES, REDIS_HA_PREREQUISITES, requirePrerequisites } from "./prerequisites";
import { command } from "./redisClient";
import { LayoutTopology } from "./redisTopology";

/**
 * The `sh` of the Redis image (redis:*-alpine) is busybox ash: the generated scripts run under it
 * here too, so that what dash or bash would forgive fails a test before it fails a pod.
 */
export function podShell(script: string, ...args: string[]): [cmd: string, args: string[]] {
    return ["busybox", ["sh", script, ...args]];
}

export interface ClusterOptions {
    timings?: RedisHaTimings;
    /** Shown in process names and the temp dir name. */
    label?: string;
    nodeCount?: number;
    /** Keep the temp dir after stop() (debugging). */
    keepDir?: boolean;
    /** The AUTH password (e.g. the one a rendered Secret holds); default: random. */
    password?: string;
    /** Each node and each of `haproxies` HAProxies (default 1) in a namespace of its own on a PartitionLab. */
    partitionLab?: { haproxies?: number };
}

/** Ports inside a lab member's own namespace: the same for every member but for the nodes' (Sentinel names nodes by port too). */
const LAB_PORTS = { redis: 6379, sentinel: 26379, haproxy: 6390, haproxyHealth: 8404 };

/** The lab member that runs node i, or HAProxy j. */
export const nodeMember = (i: number): string => `redis-${i}`;
export const haproxyMember = (j: number): string => `haproxy-${j}`;

export class RedisHaCluster extends LayoutTopology {
    private readonly redis = new Map<number, ManagedProcess>();
    private readonly sentinels = new Map<number, ManagedProcess>();
    private readonly haproxies = new Map<number, ManagedProcess>();
    private haproxyHealth: readonly Endpoint[] = [];
    private stopped = false;

    private constructor(
        readonly label: string,
        readonly dir: string,
        layout: RedisHaLayout,
        private readonly keepDir: boolean,
        password: string | undefined,
        /** The network the nodes and HAProxies are on, when they are partitionable. */
        readonly lab?: PartitionLab,
    ) {
        super(layout, password ?? `pw-${Math.random().toString(36).slice(2)}-${Date.now().toString(36)}`);
    }

    /** Starts node 0 (master), nodes 1..n-1, the Sentinels and HAProxy, and waits until writes are acknowledged. */
    static async start(opts: ClusterOptions = {}): Promise<RedisHaCluster> {
        requirePrerequisites(opts.partitionLab ? PARTITION_LAB_PREREQUISITES : REDIS_HA_PREREQUISITES, "The loopback Redis HA cluster");
        const n = opts.nodeCount ?? 3;
        const haproxyCount = opts.partitionLab?.haproxies ?? 1;
        const label = opts.label ?? "redis-ha";
        const lab = opts.partitionLab
            ? PartitionLab.create([
                  ...Array.from({ length: n }, (_, i) => nodeMember(i)),
                  ...Array.from({ length: haproxyCount }, (_, j) => haproxyMember(j)),
              ])
            : undefined;
        const ports = lab ? [] : await freePorts(2 * n + 2);
        const dir = makeTempDir(label, opts.keepDir);
        const templateDir = path.join(dir, "templates");
        const layout = buildRedisHaLayout({
            nodes: Array.from({ length: n }, (_, i) =>
                lab
                    ? { host: lab.address(nodeMember(i)), redisPort: LAB_PORTS.redis + i, sentinelPort: LAB_PORTS.sentinel + i }
                    : { host: "127.0.0.1", redisPort: ports[i], sentinelPort: ports[n + i] },
            ),
            timings: opts.timings ?? recommendedTimings,
            bind: lab ? "0.0.0.0" : "127.0.0.1",
            haproxy: lab
                ? { bind: "0.0.0.0", port: LAB_PORTS.haproxy, healthPort: LAB_PORTS.haproxyHealth }
                : { bind: "127.0.0.1", port: ports[2 * n], healthPort: ports[2 * n + 1] },
            paths: {
                templateDir,
                configDir: path.join(dir, "node-0", "conf"),
                dataDir: path.join(dir, "node-0", "data"),
                passwordFile: path.join(dir, "secret", "password"),
            },
        });
        const files = renderRedisHaFiles(layout);
        const cluster = new RedisHaCluster(label, dir, layout, opts.keepDir ?? false, opts.password, lab);
        try {
            if (lab) await cluster.openPortals(haproxyCount);
            fs.mkdirSync(templateDir, { recursive: true });
            for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(templateDir, name), text, { mode: 0o444 });
            fs.mkdirSync(path.join(dir, "secret"), { recursive: true, mode: 0o700 });
            fs.writeFileSync(layout.paths.passwordFile, `${cluster.password}\n`, { mode: 0o400 });
            fs.mkdirSync(path.join(dir, "logs"));

            // Together, as the StatefulSet's Parallel policy starts them: an empty node 0 becomes master
            // only once a majority of nodes answer.
            await Promise.all(Array.from({ length: n }, (_, i) => cluster.startRedis(i)));
            for (let i = 0; i < n; i++) await cluster.startSentinel(i);
            for (let j = 0; j < haproxyCount; j++) await cluster.startHaproxy(j);
            await cluster.waitHealthy(30000);
            return cluster;
        } catch (e) {
            await cluster.stop();
            throw e;
        }
    }

    /** Routes from this process to every node's and HAProxy's ports inside their namespaces. */
    private async openPortals(haproxyCount: number): Promise<void> {
        const lab = this.lab as PartitionLab;
        const nodes = await Promise.all(
            this.layout.nodes.map((node, i) => lab.reach(nodeMember(i), [node.redisPort, node.sentinelPort], this.dir)),
        );
        const haproxies = await Promise.all(
            Array.from({ length: haproxyCount }, (_, j) =>
                lab.reach(haproxyMember(j), [LAB_PORTS.haproxy, LAB_PORTS.haproxyHealth], this.dir),
            ),
        );
        this.reach = { redis: nodes.map((r) => r[0]), sentinel: nodes.map((r) => r[1]), haproxy: haproxies.map((r) => r[0]) };
        this.haproxyHealth = haproxies.map((r) => r[1]);
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

    /** Starts a process, in the lab member's namespace when there is a lab. */
    private launch(name: string, member: string, [cmd, args]: [string, string[]], env: NodeJS.ProcessEnv): ManagedProcess {
        const [c, a] = this.lab ? this.lab.inside(member, cmd, args) : [cmd, args];
        return launch(`${this.label}/${name}`, c, a, { env, logFile: this.logFile(name) }).process;
    }

    /** Runs start-redis.sh (init.sh redis, then exec redis-server) and waits for PING. */
    async startRedis(i: number, timeoutMs = 30000): Promise<void> {
        const prev = this.redis.get(i);
        if (prev?.running) throw new Error(`redis-${i} is still running (pid ${prev.pid})`);
        await this.runStartScript(`redis-${i}`, REDIS_HA_FILES.startRedis, i, this.redis, this.redisEndpoint(i), timeoutMs);
    }

    async startSentinel(i: number, timeoutMs = 15000): Promise<void> {
        await this.runStartScript(`sentinel-${i}`, REDIS_HA_FILES.startSentinel, i, this.sentinels, this.sentinelEndpoint(i), timeoutMs);
    }

    /** Runs a start script of node i, tracked in `processes` before it answers, and waits until `endpoint` answers PING. */
    private async runStartScript(
        name: string,
        script: string,
        i: number,
        processes: Map<number, ManagedProcess>,
        endpoint: Endpoint,
        timeoutMs: number,
    ): Promise<void> {
        const p = this.launch(name, nodeMember(i), podShell(path.join(this.layout.paths.templateDir, script)), this.nodeEnv(i));
        processes.set(i, p);
        await waitFor(`${name} to answer PING`, timeoutMs, async () => {
            if (!p.running) throw new WaitAborted(`${name} exited: ${this.tail(name, 5)}`);
            return (await command(endpoint, this.password, ["PING"], 500)) === "PONG";
        });
    }

    /** Starts HAProxy j (the only one, 0, but in a partition lab). */
    async startHaproxy(j = 0): Promise<void> {
        const cfg = path.join(this.layout.paths.templateDir, REDIS_HA_FILES.haproxyCfg);
        const env = { PATH: process.env.PATH ?? "", [HAPROXY_PASSWORD_ENV]: this.password };
        const name = j === 0 ? "haproxy" : `haproxy-${j}`;
        const p = this.launch(name, haproxyMember(j), ["haproxy", ["-db", "-f", cfg]], env);
        this.haproxies.set(j, p);
        const healthPort = this.layout.haproxy.healthPort;
        const health =
            this.haproxyHealth[j] ?? (healthPort === undefined ? undefined : { host: this.layout.haproxy.bind, port: healthPort });
        await waitFor(`${name} to listen`, 10000, async () => {
            if (!p.running) throw new WaitAborted(`${name} exited: ${this.tail(name, 10)}`);
            return health === undefined ? true : await tcpProbe(health);
        });
    }

    /** SIGKILL the redis-server of node i (its Sentinel keeps running); resolves with the time it was gone. */
    async killRedis(i: number): Promise<number> {
        const p = this.mustRedis(i);
        p.signal("SIGKILL");
        if (!(await p.waitExit(5000))) throw new Error(`redis-${i} survived SIGKILL`);
        return Date.now();
    }

    /**
     * Stops every redis-server and Sentinel at once: SIGKILL as a power cut does, SIGTERM as a
     * cluster shutdown does (redis-server then writes its AOF out). HAProxy keeps running.
     */
    async stopEveryNode(signal: "SIGKILL" | "SIGTERM"): Promise<void> {
        const ps = [...this.redis.values(), ...this.sentinels.values()].filter((p) => p.running);
        for (const p of ps) p.signal(signal);
        for (const p of ps) if (!(await p.waitExit(15000))) throw new Error(`${p.name} survived ${signal}`);
    }

    /** Starts node i as its pod does: redis-server and Sentinel together; resolves once both answer PING. */
    async startNode(i: number, timeoutMs = 60000): Promise<void> {
        await Promise.all([this.startRedis(i, timeoutMs), this.startSentinel(i, timeoutMs)]);
    }

    /** Deletes a stopped node's data and runtime configs (its whole PersistentVolume, lost). */
    loseVolume(i: number): void {
        this.wipeData(i);
        fs.rmSync(path.join(this.nodeDir(i), "conf"), { recursive: true, force: true });
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
        const p = this.launch(name, nodeMember(i), podShell(script), this.nodeEnv(i));
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
        await stopAll([...this.haproxies.values()], 3000);
        await stopAll([...this.sentinels.values()], 3000);
        await stopAll([...this.redis.values()], 3000);
        try {
            await this.lab?.destroy();
        } catch (e) {
            errors.push(e instanceof Error ? e.message : String(e));
        }
        if (!this.keepDir) removeTempDir(this.dir);
        if (errors.length > 0) throw new Error(`cluster ${this.label}: ${errors.join("; ")}`);
    }
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
