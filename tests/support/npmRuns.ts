/**
 * The `npm run` commands a text shows (markdown, a workflow, a shell script) and the argument
 * parser of every script, so that docs and workflows are checked against what the scripts accept.
 */
import { parseOptions as parseBenchCheckArgs } from "../../tools/bench/check";
import { parseArgs as parseBenchControlPlaneArgs } from "../../tools/bench/controlPlane";
import { parseArgs as parseBenchFailoverArgs } from "../../tools/bench/failover";
import { parseArgs as parseBenchPartitionArgs } from "../../tools/bench/partition";
import { parseArgs as parseBenchUpArgs } from "../../tools/bench/up";
import { parseArgs as parseCheckArgs } from "../../cli/check/args";
import { parseClusterArgs } from "../../harness/cluster/main";
import { parseArgs as parseSmokeArgs } from "../../cli/smoke/args";

/** The argument parser of every script that takes flags; a parser throws on a flag it does not accept. */
export const PARSERS: Record<string, (argv: string[]) => unknown> = {
    check: parseCheckArgs,
    smoke: parseSmokeArgs,
    cluster: parseClusterArgs,
    "bench:check": parseBenchCheckArgs,
    "bench:control-plane": parseBenchControlPlaneArgs,
    "bench:failover": parseBenchFailoverArgs,
    "bench:partition": parseBenchPartitionArgs,
    "bench:up": parseBenchUpArgs,
};
/** Scripts with arguments but no parser in TypeScript, and where their arguments are tested. */
export const SHELL_SCRIPTS: Record<string, string> = { "build:amalgam8": "tests/harness: tools/amalgam8/build.sh" };

export interface NpmRun {
    readonly script: string;
    readonly args: string[];
    readonly text: string;
}

/** Splits a shell command line into words, honouring quotes; stops at a comment or a shell operator. */
export function words(line: string): string[] {
    const out: string[] = [];
    const re = /"([^"]*)"|'([^']*)'|([^\s"']+)/g;
    for (const m of line.matchAll(re)) {
        const w = m[1] ?? m[2] ?? m[3];
        if (m[3] !== undefined && (/^(#|\||&&|;|>|2>)/.test(w) || w === "`")) break;
        // An optional flag of a usage line: [--keep].
        out.push(m[3] !== undefined ? w.replace(/^\[(.*)\]$/, "$1") : w);
    }
    return out;
}

/** Every `npm run` the README shows, in code blocks and inline code. */
export function npmRuns(markdown: string): NpmRun[] {
    const code: string[] = [];
    for (const block of markdown.matchAll(/```[^\n]*\n([\s\S]*?)```/g)) code.push(...block[1].split("\n"));
    const prose = markdown.replace(/```[^\n]*\n[\s\S]*?```/g, "");
    for (const inline of prose.matchAll(/`([^`\n]+)`/g)) code.push(inline[1]);
    const runs: NpmRun[] = [];
    for (const line of code) {
        for (const m of line.matchAll(/\bnpm run\b(.*)/g)) {
            const w = words(m[1]);
            const flagsOfNpm = w.findIndex((x) => !x.startsWith("-"));
            if (flagsOfNpm < 0) continue;
            const script = w[flagsOfNpm];
            const dashes = w.indexOf("--", flagsOfNpm);
            runs.push({ script, args: dashes < 0 ? [] : w.slice(dashes + 1), text: `npm run${m[1]}`.trim() });
        }
    }
    return runs;
}
