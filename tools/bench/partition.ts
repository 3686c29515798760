/**
 * Partitions and cold restarts on real servers and real links, for our timings and for the redis-ha
 * chart's defaults (the baseline of bench:failover: the same scripts, the chart's Sentinel and
 * HAProxy timings) in the same run. Each scenario runs on a fresh cluster in a partition lab (each
 * node and two HAProxies in network namespaces of their own), with clients writing through both
 * HAProxies as the control plane does: one SET at a time, no WAIT, acknowledged on OK.
 *
 *   master-cut         the master, one HAProxy and its clients cut off from the rest, then healed
 *   sentinel-minority  one replica node (Redis and Sentinel) cut off, then healed: nothing may change
 *   kill-all           every redis-server and Sentinel SIGKILLed under writes, then started together
 *   cold-order         a failover, then every node killed, one volume lost, and the nodes started
 *                      empty one first, the former master second, the newest last
 *
 * Per scenario: acknowledged writes lost, writes a stale master accepted (a node other than the one
 * a Sentinel majority names), the longest time without an acknowledged write, and whether one
 * master with every node replicating it came back within 90 s.
 *
 * Writes that cannot be read back because no master came back count as unreadable, not as lost.
 *
 *   npm run bench:partition [-- --runs N] [--cut-seconds S] [--scenario NAME] [--json]
 */
import { RedisHaTimings, chartBaselineTimings, recommendedTimings } from "../../components/redis/haConfig";
import { FlagSpec, parseFlags } from "../flags";
import { sleep, waitFor } from "../loopback/process";
import { RedisHaCluster, haproxyMember, nodeMember } from "../loopback/redisCluster";
import { WriteRecord, plainWritersPerHaproxy, verifyAckedWrites } from "../loopback/redisWriter";
import { log, runBenchmarkCommand } from "./cli";
import { median, round } from "./stats";
import { textTable } from "./table";

const USAGE = "usage: npm run bench:partition [-- --runs N] [--cut-seconds S] [--scenario NAME] [--json]";
const SCENARIOS = ["master-cut", "sentinel-minority", "kill-all", "cold-order"] as const;
type Scenario = (typeof SCENARIOS)[number];
const CONVERGE_TIMEOUT_MS = 90_000;

const FLAGS = {
    "--runs": { kind: "integer", min: 1, max: 20 },
    "--cut-seconds": { kind: "integer", min: 5, max: 600 },
    "--scenario": { kind: "choice", values: SCENARIOS },
    "--json": { kind: "boolean" },
} as const satisfies Record<string, FlagSpec>;

interface Options {
    runs: number;
    cutSeconds: number;
    scenarios: readonly Scenario[];
    json: boolean;
}

function parseArgs(argv: string[]): Options {
    const f = parseFlags(argv, FLAGS);
    const one = f["--scenario"];
    return { runs: f["--runs"] ?? 1, cutSeconds: f["--cut-seconds"] ?? 30, scenarios: one ? [one] : SCENARIOS, json: f["--json"] ?? false };
}

interface RunResult {
    acked: number;
    /** Acknowledged writes not readable afterwards; undefined when none could be read (no master). */
    lost: number | undefined;
    stale: number;
    unwritableSeconds: number;
    converged: boolean;
}

/** The longest stretch within [from, to] in which no write was acknowledged. */
export function longestGapSeconds(records: readonly WriteRecord[], from: number, to: number): number {
    const acks = records
        .filter((r) => r.acked && r.tDone >= from && r.tDone <= to)
        .map((r) => r.tDone)
        .sort((a, b) => a - b);
    let gap = 0;
    let last = from;
    for (const t of [...acks, to]) {
        gap = Math.max(gap, t - last);
        last = t;
    }
    return gap / 1000;
}

async function runScenario(scenario: Scenario, timings: RedisHaTimings, o: Options): Promise<RunResult> {
    const c = await RedisHaCluster.start({ label: `bench-${scenario}`, partitionLab: { haproxies: 2 }, timings });
    const writers = plainWritersPerHaproxy(c, scenario);
    try {
        const lab = c.lab as NonNullable<RedisHaCluster["lab"]>;
        for (const w of writers) w.start();
        await waitFor("writes acknowledged through both HAProxies", 10_000, async () =>
            writers.every((w) => w.firstAckAfter(0) !== undefined),
        );
        const master = (await waitFor("a master", 10_000, () => c.sentinelMaster())) as number;
        let start = Date.now();
        let expectedMaster: number | undefined;
        if (scenario === "master-cut" || scenario === "sentinel-minority") {
            const cutNode = scenario === "master-cut" ? master : (master + 1) % c.nodeCount;
            lab.partition(scenario === "master-cut" ? [nodeMember(cutNode), haproxyMember(1)] : [nodeMember(cutNode)]);
            await sleep(o.cutSeconds * 1000);
            lab.heal();
            expectedMaster = scenario === "sentinel-minority" ? master : undefined;
        } else {
            let newest = master;
            let empty: number | undefined;
            if (scenario === "cold-order") {
                await c.killRedis(master);
                newest = await c.waitForNewMaster(master, 60_000);
                await sleep(2000);
                empty = [...Array(c.nodeCount).keys()].find((i) => i !== master && i !== newest);
            }
            start = Date.now();
            await c.killEveryNode();
            if (empty !== undefined) {
                c.loseVolume(empty);
                await c.startNode(empty);
                await c.startNode(master);
                // Long enough for the two Sentinels to see the newest node down and try to elect another.
                await sleep(timings.sentinel.downAfterMilliseconds + 5000);
                await c.startNode(newest);
            } else {
                await Promise.all([...Array(c.nodeCount).keys()].map((i) => c.startNode(i)));
            }
            expectedMaster = newest;
        }
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
        for (const w of writers) await w.stop();

        const records = writers.flatMap((w) => w.records);
        const acked = records.filter((r) => r.acked);
        const missing = await verifyAckedWrites(
            c.haproxyEndpoints[0],
            c.password,
            acked.map((r) => r.key),
        ).catch(() => undefined);
        // A write after the fault start that a node other than the one finally elected accepted.
        const stale = records.filter((r) => r.setOk && r.tSend >= start && r.node !== undefined && r.node !== finalMaster);
        return {
            acked: acked.length,
            lost: missing?.length,
            stale: stale.length,
            unwritableSeconds: round(longestGapSeconds(writers[0].records, start, end), 1),
            converged,
        };
    } finally {
        for (const w of writers) await w.stop();
        await c.stop();
    }
}

type Results = Partial<Record<Scenario, { ours: RunResult[]; baseline: RunResult[] }>>;

function summary(runs: RunResult[]): Record<string, unknown> {
    const u = runs.map((r) => r.unwritableSeconds);
    return {
        runs: runs.length,
        ackedWrites: runs.reduce((n, r) => n + r.acked, 0),
        lost: runs.map((r) => r.lost),
        stale: runs.map((r) => r.stale),
        unwritableSeconds: { median: round(median(u), 1), max: Math.max(...u) },
        converged: runs.every((r) => r.converged),
    };
}

function report(results: Results, o: Options): string {
    const lines: string[] = [];
    for (const scenario of o.scenarios) {
        const row = (name: string, runs: RunResult[]): string[] => {
            const u = runs.map((r) => r.unwritableSeconds);
            return [
                name,
                runs.map((r) => (r.lost === undefined ? "unreadable" : String(r.lost))).join(" "),
                runs.map((r) => r.stale).join(" "),
                `${round(median(u), 1).toFixed(1)} / ${Math.max(...u).toFixed(1)}`,
                runs.every((r) => r.converged) ? "yes" : "NO",
            ];
        };
        const { ours, baseline } = results[scenario] as { ours: RunResult[]; baseline: RunResult[] };
        lines.push(`${scenario}${scenario.endsWith("cut") || scenario === "sentinel-minority" ? ` (${o.cutSeconds} s)` : ""}`);
        lines.push(
            textTable(
                ["configuration", "lost", "stale", "unwritable s (median / max)", "converged"],
                [row("ours", ours), row("chart baseline", baseline)],
            ),
            "",
        );
    }
    return lines.join("\n");
}

async function main(o: Options): Promise<number> {
    const results = {} as Results;
    for (const scenario of o.scenarios) {
        const series = { ours: [] as RunResult[], baseline: [] as RunResult[] };
        results[scenario] = series;
        for (let run = 0; run < o.runs; run++) {
            for (const [name, timings] of [
                ["ours", recommendedTimings],
                ["baseline", chartBaselineTimings],
            ] as const) {
                log(`bench:partition: ${scenario}, ${name}, run ${run + 1} of ${o.runs}`);
                series[name].push(await runScenario(scenario, timings, o));
            }
        }
    }
    if (o.json) {
        const out = Object.fromEntries(
            Object.entries(results).map(([s, r]) => [s, { ours: summary(r.ours), baseline: summary(r.baseline) }]),
        );
        process.stdout.write(`${JSON.stringify({ cutSeconds: o.cutSeconds, ...out })}\n`);
    } else {
        process.stdout.write(report(results, o));
    }
    return 0;
}

if (require.main === module) runBenchmarkCommand("bench:partition", USAGE, parseArgs, main);
