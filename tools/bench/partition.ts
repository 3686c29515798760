/**
 * Partitions and cold restarts on real servers and real links, for our configuration and for the
 * redis-ha chart's defaults (the baseline of bench:failover: the same scripts, the chart's Sentinel
 * and HAProxy timings) in the same run. Each case runs on a fresh cluster in a partition lab (each
 * node and two HAProxies in network namespaces of their own), with clients writing through both
 * HAProxies, in one of two ways:
 *
 *   plain   as the control plane's Redis clients do: one SET at a time, no WAIT, acknowledged on OK
 *   rules   rule POSTs to the real controller, one per HAProxy, acknowledged on 201: the patched
 *           controller (WAIT 1, patch 0006) for ours, upstream's for the baseline
 *
 * Scenarios:
 *
 *   master-isolated    the master cut off from both replicas and the other Sentinels; both HAProxies
 *                      and every client still reach it (and the replicas)
 *   master-split       the master, one HAProxy and its clients on one side, the rest on the other
 *   sentinel-minority  one replica node (Redis and Sentinel) cut off: nothing may change
 *   flapping           the master's link down and up, every 1-3 s, for a minute
 *   stop-orders        a failover, then every node stopped (SIGTERM), then started one at a time in
 *                      each of the six orders of: the former master (oldest data), the replica of
 *                      the new master, the new master (newest data)
 *   empty-first        as stop-orders but SIGKILL, and one order: the replica with its volume lost
 *                      first, the former master second, the new master last
 *   kill-all           every redis-server and Sentinel SIGKILLed under writes, then started together
 *
 * Per case: acknowledged writes lost, writes a stale master accepted (plain only: a node the
 * Sentinels had switched the master away from when it took the write) and until when after the
 * fault, the longest time without an acknowledged write through the first HAProxy, and whether
 * one master with every node replicating it (the expected one, where there is one) came back
 * within 90 s. Writes that cannot be read back because no master came back count as unreadable,
 * not as lost.
 *
 *   npm run bench:partition [-- --runs N] [--cut-seconds S] [--flap-seconds S] [--scenario NAME]
 *                            [--writes plain|rules] [--json]
 */
import { RedisHaTimings, chartBaselineTimings, recommendedTimings } from "../../components/redis/haConfig";
import { kubernetesObjects } from "../../cli/check/resources";
import { FlagSpec, parseFlags } from "../../cli/flags";
import { Amalgam8Instance } from "../../harness/loopback/amalgam8";
import { Amalgam8Variant, buildAmalgam8 } from "../../harness/loopback/prerequisites";
import { sleep, waitFor } from "../../cli/process";
import { RedisHaCluster, haproxyMember, nodeMember } from "../../harness/loopback/redisCluster";
import { MasterSwitch, SentinelEvents } from "../../harness/loopback/sentinelEvents";
import { plainWritersPerHaproxy, verifyAckedWrites } from "../../harness/loopback/redisWriter";
import { RenderedStack, renderedRedisHa, startRenderedService } from "../../harness/loopback/stack";
import { runProgram } from "../../cli/program/runProgram";
import { loadStackConfig } from "../../cli/program/stackConfig";
import { REPO_ROOT } from "../../cli/repoRoot";
import { httpClient } from "../../cli/smoke/http";
import { RuleLedger } from "../../cli/smoke/ruleLedger";
import { log, runBenchmarkCommand } from "./cli";
import { median, round } from "./stats";
import { textTable } from "./table";

const USAGE =
    "usage: npm run bench:partition [-- --runs N] [--cut-seconds S] [--flap-seconds S] [--scenario NAME] [--writes plain|rules] [--json]";
const SCENARIOS = ["master-isolated", "master-split", "sentinel-minority", "flapping", "stop-orders", "empty-first", "kill-all"] as const;
type Scenario = (typeof SCENARIOS)[number];
const WRITES = ["plain", "rules"] as const;
type Writes = (typeof WRITES)[number];
const CONFIGURATIONS = [
    { name: "ours", timings: recommendedTimings, controller: "patched" },
    { name: "chart baseline", timings: chartBaselineTimings, controller: "upstream" },
] as const satisfies readonly { name: string; timings: RedisHaTimings; controller: Amalgam8Variant }[];
type Configuration = (typeof CONFIGURATIONS)[number];
const CONVERGE_TIMEOUT_MS = 90_000;
/** The stack whose controller Deployment and Redis password the rule writes use. */
const RULES_STACK = "staging";
/** Between two rule POSTs of one writer: enough rules to count, few enough to keep each POST cheap. */
const RULE_WRITE_PAUSE_MS = 50;

const FLAGS = {
    "--runs": { kind: "integer", min: 1, max: 20 },
    "--cut-seconds": { kind: "integer", min: 5, max: 600 },
    "--flap-seconds": { kind: "integer", min: 5, max: 600 },
    "--scenario": { kind: "choice", values: SCENARIOS },
    "--writes": { kind: "choice", values: WRITES },
    "--json": { kind: "boolean" },
} as const satisfies Record<string, FlagSpec>;

interface Options {
    runs: number;
    cutSeconds: number;
    flapSeconds: number;
    scenarios: readonly Scenario[];
    writes: readonly Writes[];
    json: boolean;
}

export function parseArgs(argv: string[]): Options {
    const f = parseFlags(argv, FLAGS);
    const scenario = f["--scenario"];
    const writes = f["--writes"];
    return {
        runs: f["--runs"] ?? 1,
        cutSeconds: f["--cut-seconds"] ?? 30,
        flapSeconds: f["--flap-seconds"] ?? 60,
        scenarios: scenario ? [scenario] : SCENARIOS,
        writes: writes ? [writes] : WRITES,
        json: f["--json"] ?? false,
    };
}

/** The three nodes of a cold restart by the age of their data. */
export const COLD_ROLES = ["former master", "its replica", "new master"] as const;
type ColdRole = (typeof COLD_ROLES)[number];

/** Pure: every order of `items`. */
export function permutations<T>(items: readonly T[]): T[][] {
    if (items.length <= 1) return [[...items]];
    return items.flatMap((x, i) => permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [x, ...rest]));
}

/**
 * Pure: the link states of a flap, as [down, up] durations in ms between minMs and maxMs, that
 * fill `totalMs`; the same seed gives the same schedule, so that runs compare.
 */
export function flapSchedule(totalMs: number, seed: number, minMs = 1000, maxMs = 3000): [number, number][] {
    let state = seed >>> 0 || 1;
    const next = (): number => {
        // xorshift32: small, and the same on every machine.
        state ^= state << 13;
        state >>>= 0;
        state ^= state >>> 17;
        state ^= state << 5;
        state >>>= 0;
        return minMs + (state % (maxMs - minMs + 1));
    };
    const out: [number, number][] = [];
    for (let t = 0; t < totalMs;) {
        const pair: [number, number] = [next(), next()];
        out.push(pair);
        t += pair[0] + pair[1];
    }
    return out;
}

/** Pure: the longest stretch within [from, to] in which no write was acknowledged. */
export function longestGapSeconds(ackTimes: readonly number[], from: number, to: number): number {
    const acks = ackTimes.filter((t) => t >= from && t <= to).sort((a, b) => a - b);
    let gap = 0;
    let last = from;
    for (const t of [...acks, to]) {
        gap = Math.max(gap, t - last);
        last = t;
    }
    return gap / 1000;
}

interface Case {
    readonly scenario: Scenario;
    /** The start order of stop-orders and empty-first. */
    readonly order?: readonly ColdRole[];
}

function casesOf(scenario: Scenario): Case[] {
    if (scenario === "stop-orders") return permutations(COLD_ROLES).map((order) => ({ scenario, order }));
    if (scenario === "empty-first") return [{ scenario, order: ["its replica", "former master", "new master"] }];
    return [{ scenario }];
}

const caseName = (c: Case): string => (c.order ? `${c.scenario}: ${c.order.join(", ")}` : c.scenario);

interface RunResult {
    acked: number;
    /** Acknowledged writes not readable afterwards; undefined when none could be read (no master). */
    lost: number | undefined;
    /**
     * Plain writes accepted after the fault began by a node the Sentinels had already switched the
     * master away from (and not back to); undefined for rule writes.
     */
    stale: number | undefined;
    /** From the fault to the last of those writes. */
    staleSeconds: number | undefined;
    unwritableSeconds: number;
    converged: boolean;
}

/** Writers through each HAProxy of the cluster, and what became of their writes. */
interface Writers {
    start(): void;
    stop(): Promise<void>;
    /** Acknowledgement times of the writers through HAProxy 0. */
    ackTimes(): number[];
    /** Whether a write through every HAProxy was acknowledged. */
    everyHaproxyAcked(): boolean;
    result(c: RedisHaCluster, faultStart: number, switches: MasterSwitch[]): Promise<Omit<RunResult, "unwritableSeconds" | "converged">>;
    close(): Promise<void>;
}

function plainWriters(c: RedisHaCluster, prefix: string): Writers {
    const writers = plainWritersPerHaproxy(c, prefix);
    const stop = async (): Promise<void> => {
        for (const w of writers) await w.stop();
    };
    return {
        start: () => writers.forEach((w) => w.start()),
        stop,
        ackTimes: () => writers[0].records.filter((r) => r.acked).map((r) => r.tDone),
        everyHaproxyAcked: () => writers.every((w) => w.firstAckAfter(0) !== undefined),
        async result(cluster, faultStart, switches) {
            const records = writers.flatMap((w) => w.records);
            const acked = records.filter((r) => r.acked);
            const missing = await verifyAckedWrites(
                cluster.haproxyEndpoints[0],
                cluster.password,
                acked.map((r) => r.key),
            ).catch(() => undefined);
            const stale = writers.flatMap((w) => w.staleMasterWrites(switches)).filter((r) => r.tSend >= faultStart);
            const lastStale = Math.max(faultStart, ...stale.map((r) => r.tDone));
            return {
                acked: acked.length,
                lost: missing?.length,
                stale: stale.length,
                staleSeconds: round((lastStale - faultStart) / 1000, 1),
            };
        },
        close: stop,
    };
}

async function ruleWriters(c: RedisHaCluster, stack: RenderedStack, variant: Amalgam8Variant, prefix: string): Promise<Writers> {
    const controllers: Amalgam8Instance[] = [];
    try {
        for (const [j, endpoint] of c.haproxyEndpoints.entries()) {
            controllers.push(await startRenderedService(stack, "controller", endpoint, { variant, label: `${prefix}-controller-${j}` }));
        }
        await Promise.all(controllers.map((ctl) => ctl.waitReady(30_000)));
    } catch (e) {
        await Promise.allSettled(controllers.map((ctl) => ctl.stop()));
        throw e;
    }
    const token = stack.outputs.adminToken?.value;
    const ledgers = controllers.map(
        (ctl, j) => new RuleLedger(`${prefix}-${j}`, httpClient(ctl.url, typeof token === "string" ? token : undefined, 5_000)),
    );
    let running = false;
    let loops: Promise<void>[] = [];
    const stop = async (): Promise<void> => {
        running = false;
        await Promise.all(loops);
        loops = [];
    };
    return {
        start() {
            running = true;
            loops = ledgers.map(async (ledger) => {
                while (running) {
                    await ledger.write();
                    await sleep(RULE_WRITE_PAUSE_MS);
                }
            });
        },
        stop,
        ackTimes: () => ledgers[0].acknowledgedAt.slice(),
        everyHaproxyAcked: () => ledgers.every((l) => l.acknowledgedAt.length > 0),
        async result() {
            let lost: number | undefined = 0;
            for (const ledger of ledgers) {
                const verified = await ledger.verifyAndClean(30_000, sleep);
                lost = verified && lost !== undefined ? lost + ledger.summary.acknowledgedLost : undefined;
            }
            return {
                acked: ledgers.reduce((n, l) => n + l.summary.writesAcknowledged, 0),
                lost,
                stale: undefined,
                staleSeconds: undefined,
            };
        },
        async close() {
            await stop();
            await Promise.allSettled(controllers.map((ctl) => ctl.stop()));
        },
    };
}

/** Runs the fault of `kase` on a running cluster; resolves with when it began and the master expected after it, if any. */
async function runFault(
    c: RedisHaCluster,
    kase: Case,
    timings: RedisHaTimings,
    o: Options,
    run: number,
): Promise<{ start: number; expectedMaster: number | undefined }> {
    const lab = c.lab as NonNullable<RedisHaCluster["lab"]>;
    const master = (await waitFor("a master", 10_000, () => c.sentinelMaster())) as number;
    const others = [...Array(c.nodeCount).keys()].filter((i) => i !== master);
    const start = Date.now();
    switch (kase.scenario) {
        case "master-isolated":
            lab.cutBetween([nodeMember(master)], others.map(nodeMember));
            await sleep(o.cutSeconds * 1000);
            lab.heal();
            return { start, expectedMaster: undefined };
        case "master-split":
            lab.partition([nodeMember(master), haproxyMember(1)]);
            await sleep(o.cutSeconds * 1000);
            lab.heal();
            return { start, expectedMaster: undefined };
        case "sentinel-minority":
            lab.partition([nodeMember(others[0])]);
            await sleep(o.cutSeconds * 1000);
            lab.heal();
            return { start, expectedMaster: master };
        case "flapping":
            for (const [down, up] of flapSchedule(o.flapSeconds * 1000, run + 1)) {
                lab.setLink(nodeMember(master), false);
                await sleep(down);
                lab.setLink(nodeMember(master), true);
                await sleep(up);
            }
            lab.heal();
            return { start, expectedMaster: undefined };
        case "kill-all":
            await c.stopEveryNode("SIGKILL");
            await Promise.all([...Array(c.nodeCount).keys()].map((i) => c.startNode(i)));
            return { start, expectedMaster: master };
        case "stop-orders":
        case "empty-first": {
            await c.killRedis(master);
            const newMaster = await c.waitForNewMaster(master, 60_000);
            // Writes the former master never saw.
            await sleep(2000);
            const node: Record<ColdRole, number> = {
                "former master": master,
                "its replica": others.find((i) => i !== newMaster) as number,
                "new master": newMaster,
            };
            const coldStart = Date.now();
            await c.stopEveryNode(kase.scenario === "empty-first" ? "SIGKILL" : "SIGTERM");
            if (kase.scenario === "empty-first") c.loseVolume(node["its replica"]);
            for (const [k, role] of (kase.order ?? COLD_ROLES).entries()) {
                // Long enough for the Sentinels up to see the nodes still down and try to elect another.
                if (k > 0) await sleep(timings.sentinel.downAfterMilliseconds + 5000);
                await c.startNode(node[role]);
            }
            return { start: coldStart, expectedMaster: newMaster };
        }
    }
}

async function runCase(
    kase: Case,
    conf: Configuration,
    writes: Writes,
    stack: RenderedStack | undefined,
    o: Options,
    run: number,
): Promise<RunResult> {
    const prefix = `bench-${kase.scenario}`;
    const c = await RedisHaCluster.start({
        label: prefix,
        partitionLab: { haproxies: 2 },
        timings: conf.timings,
        ...(stack ? { password: renderedRedisHa(stack).password } : {}),
    });
    let writers: Writers | undefined;
    const events = new SentinelEvents(c);
    try {
        await events.start();
        writers = writes === "rules" ? await ruleWriters(c, stack as RenderedStack, conf.controller, prefix) : plainWriters(c, prefix);
        const w = writers;
        w.start();
        await waitFor("writes acknowledged through both HAProxies", 15_000, async () => w.everyHaproxyAcked());
        const { start, expectedMaster } = await runFault(c, kase, conf.timings, o, run);
        let converged = true;
        try {
            await c.waitHealthy(CONVERGE_TIMEOUT_MS);
        } catch {
            converged = false;
        }
        const finalMaster = await c.sentinelMaster();
        if (expectedMaster !== undefined && finalMaster !== expectedMaster) converged = false;
        await sleep(1000);
        const end = Date.now();
        await w.stop();
        return {
            ...(await w.result(c, start, events.switches())),
            unwritableSeconds: round(longestGapSeconds(w.ackTimes(), start, end), 1),
            converged,
        };
    } finally {
        events.stop();
        await writers?.close();
        await c.stop();
    }
}

interface Series {
    readonly kase: Case;
    readonly writes: Writes;
    readonly runs: Record<Configuration["name"], RunResult[]>;
}

function summary(runs: RunResult[]): Record<string, unknown> {
    const u = runs.map((r) => r.unwritableSeconds);
    return {
        runs: runs.length,
        ackedWrites: runs.reduce((n, r) => n + r.acked, 0),
        lost: runs.map((r) => r.lost ?? "unreadable"),
        ...(runs.some((r) => r.stale !== undefined)
            ? { stale: runs.map((r) => r.stale), staleSeconds: runs.map((r) => r.staleSeconds) }
            : {}),
        unwritableSeconds: { median: round(median(u), 1), max: Math.max(...u) },
        converged: runs.every((r) => r.converged),
    };
}

const headline = (s: Series, o: Options): string => {
    const seconds =
        s.kase.scenario === "flapping" ? o.flapSeconds : /isolated|split|minority/.test(s.kase.scenario) ? o.cutSeconds : undefined;
    return `${caseName(s.kase)}${seconds ? ` (${seconds} s)` : ""}, ${s.writes} writes`;
};

function report(series: readonly Series[], o: Options): string {
    const lines: string[] = [];
    for (const s of series) {
        const row = (name: string, runs: RunResult[]): string[] => {
            const u = runs.map((r) => r.unwritableSeconds);
            return [
                name,
                runs.map((r) => (r.lost === undefined ? "unreadable" : String(r.lost))).join(" "),
                runs.map((r) => (r.stale === undefined ? "-" : String(r.stale))).join(" "),
                runs.map((r) => (r.staleSeconds === undefined ? "-" : r.staleSeconds.toFixed(1))).join(" "),
                `${round(median(u), 1).toFixed(1)} / ${Math.max(...u).toFixed(1)}`,
                runs.every((r) => r.converged) ? "yes" : "NO",
            ];
        };
        lines.push(
            headline(s, o),
            textTable(
                ["configuration", "lost", "stale", "stale until s", "unwritable s (median / max)", "converged"],
                CONFIGURATIONS.map((conf) => row(conf.name, s.runs[conf.name])),
            ),
            "",
        );
    }
    return lines.join("\n");
}

async function renderRulesStack(): Promise<RenderedStack> {
    for (const conf of CONFIGURATIONS) buildAmalgam8(conf.controller);
    const run = await runProgram(loadStackConfig(REPO_ROOT, RULES_STACK));
    return { objects: kubernetesObjects(run.resources), outputs: run.outputs };
}

async function main(o: Options): Promise<number> {
    const stack = o.writes.includes("rules") ? await renderRulesStack() : undefined;
    const series: Series[] = [];
    for (const writes of o.writes) {
        for (const kase of o.scenarios.flatMap(casesOf)) {
            const s: Series = { kase, writes, runs: { ours: [], "chart baseline": [] } };
            series.push(s);
            for (let run = 0; run < o.runs; run++) {
                for (const conf of CONFIGURATIONS) {
                    log(`bench:partition: ${caseName(kase)}, ${writes} writes, ${conf.name}, run ${run + 1} of ${o.runs}`);
                    s.runs[conf.name].push(await runCase(kase, conf, writes, stack, o, run));
                }
            }
        }
    }
    if (o.json) {
        const cases = series.map((s) => ({
            case: caseName(s.kase),
            writes: s.writes,
            ...Object.fromEntries(CONFIGURATIONS.map((conf) => [conf.name, summary(s.runs[conf.name])])),
        }));
        process.stdout.write(`${JSON.stringify({ cutSeconds: o.cutSeconds, flapSeconds: o.flapSeconds, cases })}\n`);
    } else {
        process.stdout.write(report(series, o));
    }
    return 0;
}

if (require.main === module) runBenchmarkCommand("bench:partition", USAGE, parseArgs, main);
