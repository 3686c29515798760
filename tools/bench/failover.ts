/**
 * Failover benchmark on loopback processes: kills the Redis master N times (SIGKILL) while
 * writers do SET + WAIT 1 through HAProxy, and measures the time from the kill to the first
 * acknowledged write, the failed writes, the rejoin of the restarted old master, and checks
 * that no acknowledged write was lost and no stale master accepted a write.
 *
 *   npm run bench:failover [-- --kills N] [--json] [--baseline]
 *
 * --baseline runs the same kills, alternating, against the redis-ha chart's default timings.
 * Their failover-timeout of 180 s stops Sentinel from failing over the same master again for
 * 6 minutes, so every baseline kill gets a fresh cluster (on other ports).
 */
import { sleep, waitFor } from "../../cli/process";
import { RedisHaCluster } from "../../harness/loopback/redisCluster";
import { ContinuousWriter, verifyAckedWrites } from "../../harness/loopback/redisWriter";
import { SentinelEvents } from "../../harness/loopback/sentinelEvents";
import { RedisHaTimings, chartBaselineTimings, recommendedTimings } from "../../components/redis/haConfig";
import { FlagSpec, parseFlags } from "../../cli/flags";
import { log, runBenchmarkCommand } from "./cli";
import { median, round } from "./stats";
import { textTable } from "./table";

const USAGE = "usage: npm run bench:failover [-- --kills N] [--json] [--baseline]";

interface Options {
    kills: number;
    json: boolean;
    baseline: boolean;
}

const FLAGS = {
    "--kills": { kind: "integer", min: 1, max: 1000 },
    "--baseline": { kind: "boolean" },
    "--json": { kind: "boolean" },
} as const satisfies Record<string, FlagSpec>;

export function parseArgs(argv: string[]): Options {
    const f = parseFlags(argv, FLAGS);
    return { kills: f["--kills"] ?? 10, json: f["--json"] ?? false, baseline: f["--baseline"] ?? false };
}

interface KillResult {
    failoverSeconds: number;
    failedWrites: number;
    refusedConnections: number;
    rejoinSeconds: number;
    from: number;
    to: number | undefined;
}

interface SeriesResult {
    kills: KillResult[];
    ackedWrites: number;
    ackedWritesLost: number;
    staleMasterWrites: number;
}

/** One cluster with its writer and Sentinel event log. */
class Rig {
    private constructor(
        readonly cluster: RedisHaCluster,
        readonly writer: ContinuousWriter,
        readonly events: SentinelEvents,
    ) {}

    static async start(label: string, timings: RedisHaTimings): Promise<Rig> {
        const cluster = await RedisHaCluster.start({ label, timings });
        try {
            const events = new SentinelEvents(cluster);
            await events.start();
            const writer = new ContinuousWriter({
                endpoint: cluster.haproxyEndpoint,
                password: cluster.password,
                nodeOfPort: (p) => cluster.nodeOfPort(p),
            });
            writer.start();
            const t = Date.now();
            await waitFor(`${label}: first acknowledged write`, 10000, async () => writer.firstAckAfter(t));
            return new Rig(cluster, writer, events);
        } catch (e) {
            await cluster.stop();
            throw e;
        }
    }

    /** Kills the master, waits for the first write acknowledged elsewhere, restarts the old master, waits for its rejoin. */
    async kill(timeoutMs: number): Promise<KillResult> {
        const c = this.cluster;
        const master = await waitFor("a master named by the Sentinels", 10000, () => c.sentinelMaster());
        const t0 = Date.now();
        await c.killRedis(master);
        const first = await waitFor(
            "the first acknowledged write after the kill",
            timeoutMs,
            async () => this.writer.firstAckAfter(t0, master),
            20,
        );
        const result: KillResult = {
            failoverSeconds: (first.tDone - t0) / 1000,
            failedWrites: this.writer.failedBetween(t0, first.tDone).length,
            refusedConnections: this.writer.connectFailuresBetween(t0, first.tDone),
            rejoinSeconds: 0,
            from: master,
            to: first.node,
        };
        const restart = Date.now();
        await c.restartRedis(master);
        await c.waitForReplica(master, timeoutMs);
        result.rejoinSeconds = (Date.now() - restart) / 1000;
        return result;
    }

    async finish(): Promise<{ acked: number; lost: number; stale: number }> {
        try {
            await this.writer.stop();
            const acked = this.writer.ackedKeys();
            const missing = await verifyAckedWrites(this.cluster.haproxyEndpoint, this.cluster.password, acked);
            return { acked: acked.length, lost: missing.length, stale: this.writer.staleMasterWrites(this.events.switches()).length };
        } finally {
            this.events.stop();
            await this.cluster.stop();
        }
    }
}

function emptySeries(): SeriesResult {
    return { kills: [], ackedWrites: 0, ackedWritesLost: 0, staleMasterWrites: 0 };
}

async function run(o: Options): Promise<{ ours: SeriesResult; baseline?: SeriesResult }> {
    const ours = emptySeries();
    const baseline = o.baseline ? emptySeries() : undefined;
    const rig = await Rig.start("bench-ours", recommendedTimings);
    let lastKill = 0;
    try {
        for (let k = 1; k <= o.kills; k++) {
            // Sentinel fails over the same master name at most once per 2 x failover-timeout.
            const wait = lastKill + rig.cluster.faultSpacingMs - Date.now();
            if (wait > 0) await sleep(wait);
            await rig.cluster.heal();
            lastKill = Date.now();
            const r = await rig.kill(60000);
            ours.kills.push(r);
            log(
                `kill ${k}/${o.kills} (recommended): node ${r.from} -> ${String(r.to)}, failover ${r.failoverSeconds.toFixed(2)} s, ` +
                    `${r.failedWrites} failed writes, rejoin ${r.rejoinSeconds.toFixed(2)} s`,
            );
            if (baseline) {
                const b = await Rig.start(`bench-baseline-${k}`, chartBaselineTimings);
                try {
                    const br = await b.kill(120000);
                    baseline.kills.push(br);
                    log(
                        `kill ${k}/${o.kills} (chart baseline, fresh cluster): failover ${br.failoverSeconds.toFixed(2)} s, ` +
                            `${br.failedWrites} failed writes, rejoin ${br.rejoinSeconds.toFixed(2)} s`,
                    );
                } finally {
                    const f = await b.finish();
                    baseline.ackedWrites += f.acked;
                    baseline.ackedWritesLost += f.lost;
                    baseline.staleMasterWrites += f.stale;
                }
            }
        }
    } finally {
        const f = await rig.finish();
        ours.ackedWrites = f.acked;
        ours.ackedWritesLost = f.lost;
        ours.staleMasterWrites = f.stale;
    }
    return { ours, baseline };
}

function summary(s: SeriesResult): Record<string, unknown> {
    const f = s.kills.map((k) => k.failoverSeconds);
    const w = s.kills.map((k) => k.failedWrites);
    const r = s.kills.map((k) => k.rejoinSeconds);
    return {
        kills: s.kills.length,
        failover: { minSeconds: round(Math.min(...f)), medianSeconds: round(median(f)), maxSeconds: round(Math.max(...f)) },
        failedWritesPerFailover: { median: median(w), max: Math.max(...w) },
        ackedWritesLost: s.ackedWritesLost,
        staleMasterWrites: s.staleMasterWrites,
        rejoin: { medianSeconds: round(median(r)), maxSeconds: round(Math.max(...r)) },
    };
}

function table(ours: SeriesResult, baseline?: SeriesResult): string {
    const head = ["kill", "failover s", "failed writes", "refused conns", "rejoin s"];
    const rows: string[][] = ours.kills.map((k, i) => {
        const row = [
            String(i + 1),
            k.failoverSeconds.toFixed(2),
            String(k.failedWrites),
            String(k.refusedConnections),
            k.rejoinSeconds.toFixed(2),
        ];
        const b = baseline?.kills[i];
        if (baseline)
            row.push(b ? b.failoverSeconds.toFixed(2) : "-", b ? String(b.failedWrites) : "-", b ? b.rejoinSeconds.toFixed(2) : "-");
        return row;
    });
    if (baseline) head.push("baseline failover s", "baseline failed", "baseline rejoin s");
    const lines = [textTable(head, rows, 0), ""];
    const describe = (name: string, s: SeriesResult): void => {
        const m = summary(s) as {
            failover: { minSeconds: number; medianSeconds: number; maxSeconds: number };
            rejoin: { medianSeconds: number; maxSeconds: number };
        };
        lines.push(
            `${name}: failover min ${m.failover.minSeconds} / median ${m.failover.medianSeconds} / max ${m.failover.maxSeconds} s; ` +
                `rejoin median ${m.rejoin.medianSeconds} / max ${m.rejoin.maxSeconds} s; ` +
                `${s.ackedWrites} acknowledged writes, ${s.ackedWritesLost} lost; ${s.staleMasterWrites} stale-master writes`,
        );
    };
    describe("recommended", ours);
    if (baseline) describe("chart baseline", baseline);
    const med = median(ours.kills.map((k) => k.failoverSeconds));
    const max = Math.max(...ours.kills.map((k) => k.failoverSeconds));
    lines.push(
        `targets: median <= 3.5 s ${med <= 3.5 ? "met" : "MISSED"}, max <= 6 s ${max <= 6 ? "met" : "MISSED"}, ` +
            `0 acked writes lost ${ours.ackedWritesLost === 0 ? "met" : "MISSED"}, ` +
            `0 stale-master writes ${ours.staleMasterWrites === 0 ? "met" : "MISSED"}`,
    );
    if (baseline)
        lines.push(`ratio ours/baseline median failover: ${round(med / median(baseline.kills.map((k) => k.failoverSeconds)), 3)}`);
    return lines.join("\n");
}

async function main(o: Options): Promise<number> {
    log(`bench:failover: ${o.kills} master kill(s)${o.baseline ? ", alternating with the chart baseline" : ""}`);
    const { ours, baseline } = await run(o);
    if (o.json) {
        const out: Record<string, unknown> = summary(ours);
        if (baseline) {
            out.baseline = summary(baseline);
            out.ratio = round(median(ours.kills.map((k) => k.failoverSeconds)) / median(baseline.kills.map((k) => k.failoverSeconds)), 3);
        }
        process.stdout.write(`${JSON.stringify(out)}\n`);
    } else {
        process.stdout.write(`${table(ours, baseline)}\n`);
    }
    // Timings are reported, correctness is enforced.
    const broken = ours.ackedWritesLost + ours.staleMasterWrites;
    return broken > 0 ? 1 : 0;
}

if (require.main === module) runBenchmarkCommand("bench:failover", USAGE, parseArgs, main);
