/** What `npm run smoke` prints: a table, one JSON document, or Markdown for a CI job summary. */
import { OutputFormat } from "./args";
import type { JourneyReport } from "./journey";
import type { LedgerCounts, LedgerEvent } from "./ruleLedger";

/** How each service was reached, for the header (never the token). */
export interface Targets {
    readonly controller: string;
    readonly registry: string;
    readonly authenticated: boolean;
}

export interface StepTally {
    readonly name: string;
    runs: number;
    failed: number;
    lastFailure?: string;
}

export interface DrillReport {
    readonly ok: boolean;
    readonly seconds: number;
    readonly rounds: number;
    readonly steps: readonly StepTally[];
    readonly rules: LedgerCounts;
    readonly events: readonly LedgerEvent[];
    readonly forwardsRestarted: number;
    /** The journey once more after the drill: the control plane must have recovered. */
    readonly final: JourneyReport;
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    const line = (cells: readonly string[]): string =>
        cells
            .map((c, i) => c.padEnd(widths[i]))
            .join("  ")
            .trimEnd();
    return [line(header), ...rows.map(line)];
}

function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
    const cell = (s: string): string => s.replace(/\|/g, "\\|").replace(/\n/g, " ");
    return [`| ${header.join(" | ")} |`, `|${header.map(() => "---").join("|")}|`, ...rows.map((r) => `| ${r.map(cell).join(" | ")} |`)];
}

function stepRows(report: JourneyReport): string[][] {
    return report.steps.map((s) => [s.name, s.ok ? "ok" : "FAIL", `${Math.round(s.ms)} ms`, s.detail]);
}

function targetLines(t: Targets): string[] {
    return [`controller ${t.controller}`, `registry   ${t.registry}`, `auth       ${t.authenticated ? "bearer token" : "none"}`];
}

export function renderJourney(report: JourneyReport, targets: Targets, format: OutputFormat): string {
    const failed = report.steps.filter((s) => !s.ok).map((s) => s.name);
    const verdict = report.ok ? `PASS: ${report.steps.length} steps` : `FAIL: ${failed.join(", ") || "the journey did not complete"}`;
    if (format === "json") return JSON.stringify({ ok: report.ok, targets, steps: report.steps }, null, 2) + "\n";
    const header = ["step", "result", "time", "detail"];
    if (format === "markdown") {
        return [
            `### Smoke test: ${report.ok ? "pass" : "FAIL"}`,
            "",
            ...targetLines(targets).map((l) => `- ${l}`),
            "",
            ...markdownTable(header, stepRows(report)),
            "",
            verdict,
            "",
        ].join("\n");
    }
    return [...targetLines(targets), "", ...table(header, stepRows(report)), "", verdict, ""].join("\n");
}

function drillRows(r: DrillReport): string[][] {
    return r.steps.map((s) => [s.name, String(s.runs), String(s.failed), s.lastFailure ?? ""]);
}

function ruleLines(r: DrillReport): string[] {
    const c = r.rules;
    return [
        `rule writes  ${c.writesAcknowledged} acknowledged, ${c.writesFailed} failed`,
        `rule reads   ${c.readsOk} answered, ${c.readsFailed} failed, ${c.readsWrong} wrong ` +
            "(an acknowledged rule missing or the revision going back)",
        "lost         " +
            (c.verified
                ? `${c.acknowledgedLost} acknowledged write(s) lost`
                : "NOT VERIFIED: the controller never answered the final read") +
            (c.appliedWithoutAcknowledgement > 0
                ? `; ${c.appliedWithoutAcknowledgement} write(s) applied although the answer was a failure`
                : ""),
        `port-forward ${r.forwardsRestarted} restart(s) (a deleted pod ends the forward to it)`,
        `after drill  ${
            r.final.ok
                ? "the journey passes"
                : `the journey FAILS: ${r.final.steps
                      .filter((s) => !s.ok)
                      .map((s) => s.name)
                      .join(", ")}`
        }`,
    ];
}

export function renderDrill(r: DrillReport, targets: Targets, format: OutputFormat): string {
    if (format === "json") return JSON.stringify({ ...r, targets }, null, 2) + "\n";
    const header = ["step", "runs", "failed", "last failure"];
    const reasons = [
        ...(r.rules.acknowledgedLost > 0 ? [`${r.rules.acknowledgedLost} acknowledged write(s) lost`] : []),
        ...(!r.rules.verified ? ["the rules could not be read back after the drill"] : []),
        ...(!r.final.ok ? ["the journey fails after the drill"] : []),
    ];
    const verdict = r.ok
        ? "PASS: no acknowledged write lost, the control plane answers correctly after the drill"
        : `FAIL: ${reasons.join("; ")}`;
    const events = r.events.map((e) => `+${(e.atMs / 1000).toFixed(1)}s ${e.what}`);
    if (format === "markdown") {
        return [
            `### Sidecar traffic during the drill: ${r.ok ? "pass" : "FAIL"} (${r.rounds} rounds in ${r.seconds} s)`,
            "",
            ...targetLines(targets).map((l) => `- ${l}`),
            "",
            ...markdownTable(header, drillRows(r)),
            "",
            ...ruleLines(r).map((l) => `- ${l}`),
            ...(events.length > 0
                ? ["", "<details><summary>rule write/read events</summary>", "", ...events.map((e) => `- ${e}`), "", "</details>"]
                : []),
            "",
            verdict,
            "",
        ].join("\n");
    }
    return [
        ...targetLines(targets),
        `drill        ${r.rounds} rounds in ${r.seconds} s`,
        "",
        ...table(header, drillRows(r)),
        "",
        ...ruleLines(r),
        ...(events.length > 0 ? ["", "events:", ...events.map((e) => `  ${e}`)] : []),
        "",
        verdict,
        "",
    ].join("\n");
}
