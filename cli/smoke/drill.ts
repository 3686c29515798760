/**
 * `--watch <seconds>`: the sidecar journey in a loop while faults are injected from outside, plus
 * the durable-write check of RuleLedger. Failed steps are counted, not fatal; an acknowledged
 * write lost, or a control plane that does not answer correctly afterwards, fails the drill.
 */
import { runSidecarJourney } from "./journey";
import { Connection } from "./connection";
import { httpClient } from "./http";
import { DrillReport, StepTally } from "./report";
import { RuleLedger } from "./ruleLedger";

export interface DrillOptions {
    readonly seconds: number;
    readonly timeoutMs: number;
    readonly runId: string;
}

const MIN_ROUND_MS = 1000;
const REQUEST_TIMEOUT_MS = 5000;
/** How long the control plane gets to answer again after the last round. */
const RECOVERY_MS = 60_000;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export async function runDrill(conn: Connection, o: DrillOptions): Promise<DrillReport> {
    const token = conn.journeyTarget().token;
    const ledger = new RuleLedger(
        `smoke-drill-${o.runId}`,
        httpClient(() => conn.journeyTarget().controllerUrl, token, REQUEST_TIMEOUT_MS),
    );
    const tallies = new Map<string, StepTally>();
    const started = Date.now();
    const deadline = started + o.seconds * 1000;
    let rounds = 0;
    let forwardsRestarted = 0;
    while (Date.now() < deadline) {
        const roundStart = Date.now();
        forwardsRestarted += await conn.heal();
        const report = await runSidecarJourney(conn.journeyTarget(), { timeoutMs: o.timeoutMs, runId: `${o.runId}-${rounds}` });
        for (const s of report.steps) {
            const t = tallies.get(s.name) ?? { name: s.name, runs: 0, failed: 0 };
            t.runs++;
            if (!s.ok) {
                t.failed++;
                t.lastFailure = s.detail;
            }
            tallies.set(s.name, t);
        }
        await ledger.write();
        await ledger.read();
        rounds++;
        await sleep(Math.max(0, MIN_ROUND_MS - (Date.now() - roundStart)));
    }

    forwardsRestarted += await conn.heal();
    const verified = await ledger.verifyAndClean(RECOVERY_MS, sleep);
    let final = await runSidecarJourney(conn.journeyTarget(), { timeoutMs: o.timeoutMs, runId: `${o.runId}-final` });
    for (let attempt = 1; !final.ok && attempt < 3; attempt++) {
        await sleep(5000);
        forwardsRestarted += await conn.heal();
        final = await runSidecarJourney(conn.journeyTarget(), { timeoutMs: o.timeoutMs, runId: `${o.runId}-final${attempt}` });
    }
    const rules = ledger.summary;
    return {
        ok: verified && rules.acknowledgedLost === 0 && final.ok,
        seconds: o.seconds,
        rounds,
        steps: [...tallies.values()],
        rules,
        events: ledger.events,
        forwardsRestarted,
        final,
    };
}
