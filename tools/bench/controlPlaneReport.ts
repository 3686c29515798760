/**
 * The control-plane benchmark's figures: per fault (requests, failed, wrong, error window,
 * latency), the `--json` summary, the goals and the table.
 */
import { textTable } from "./table";
import { Amalgam8Variant } from "../../harness/loopback/prerequisites";
import { RequestRecord, isFailed } from "./requests";
import { median, percentile, round } from "./stats";

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
            errorWindowSeconds:
                bad.length === 0 ? 0 : round((Math.max(...bad.map((r) => r.end)) - Math.min(...bad.map((r) => r.start))) / 1000),
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
        errorWindowSeconds: {
            median: round(median(faults.map((f) => f.errorWindowSeconds))),
            max: Math.max(0, ...faults.map((f) => f.errorWindowSeconds)),
        },
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
    const head = ["", "fault", "node", "requests", "failed", "wrong", "error window s", "p99 ms", "max ms"];
    const rows: string[][] = [];
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
    const lines = [textTable(head, rows, 3)];
    const kills = r.perFault.slice(1).filter((f) => f.fault?.kind === "kill");
    const s = summary(r) as any;
    lines.push(
        "",
        `images: ${r.images}; ${r.records.length} requests; ` +
            `kills: median failed ${median(kills.map((f) => f.failed))}, median wrong ${median(kills.map((f) => f.wrong))}, ` +
            `max latency ${Math.max(0, ...kills.map((f) => f.maxMs))} ms`,
        `wrong answers by kind: ${
            Object.entries(r.wrongByKind)
                .map(([k, n]) => `${k} ${n}`)
                .join(", ") || "none"
        }`,
        `acked writes lost: ${r.ackedWritesLost}; revisions that went backwards: ${r.revisionsWentBack}; ` +
            `rule changes without a revision bump: ${r.rulesWithoutRevision}`,
        `latency over the run: p99 ${s.latencyMs.p99} ms, max ${s.latencyMs.max} ms`,
        `goals (${r.images}): ${goals(r)
            .map((g) => `${g.goal} ${g.met ? "met" : "MISSED"}`)
            .join("; ")}`,
    );
    return lines.join("\n");
}
