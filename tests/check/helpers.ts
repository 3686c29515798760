/** Runs `check` as its own process, as `npm run check` does, with a bounded time. */
import * as path from "path";
import { runToEnd } from "../../cli/process";

export const REPO = path.resolve(__dirname, "..", "..");
export const MAIN = path.join(REPO, "cli", "check", "main.ts");
export const FIXTURES = path.join(REPO, "tests", "fixtures");
export const SEED = path.join(FIXTURES, "seed-controlplane.yaml");
export const GOOD = path.join(FIXTURES, "manifests", "good");

export interface Run {
    code: number | null;
    stdout: string;
    stderr: string;
}

/** The loader `npm run check` uses (see package.json). */
export const TRANSPILE_CACHE = path.join(REPO, "cli", "check", "transpileCache.js");

/** `input`, when given, is written to the check's standard input (for `--manifests -`). */
export async function runCheck(args: string[], timeoutMs = 120_000, input?: string | Buffer): Promise<Run> {
    const r = await runToEnd("check", process.execPath, ["-r", TRANSPILE_CACHE, MAIN, ...args], {
        cwd: REPO,
        input,
        timeoutMs,
        graceMs: 0,
    });
    if (r.timedOut) throw new Error(`check ${args.join(" ")} did not finish in ${timeoutMs} ms\n${r.stderr}`);
    return { code: r.code, stdout: r.stdout, stderr: r.stderr };
}

/** Runs several checks, at most `limit` at a time (each starts a policy pack). */
export async function runAll(list: string[][], limit = 2): Promise<Run[]> {
    const out: Run[] = new Array(list.length);
    let next = 0;
    const worker = async () => {
        while (next < list.length) {
            const i = next++;
            out[i] = await runCheck(list[i]);
        }
    };
    await Promise.all(Array.from({ length: Math.min(limit, list.length) }, worker));
    return out;
}

export interface JsonReport {
    resources: { urn: string; type: string; name: string; object?: string; schema?: string }[];
    violations: { policy: string; enforcementLevel: string; resource?: string; urn?: string; message: string }[];
    errors: { resource: string; message: string }[];
}

export function parseReport(r: Run): JsonReport {
    try {
        return JSON.parse(r.stdout) as JsonReport;
    } catch (e) {
        const output = `stdout: ${r.stdout.slice(0, 500)}\nstderr: ${r.stderr.slice(0, 2000)}`;
        throw new Error(`stdout is not one JSON document (exit ${r.code}): ${(e as Error).message}\n${output}`, { cause: e });
    }
}

export function mandatory(rep: JsonReport): JsonReport["violations"] {
    return rep.violations.filter((v) => v.enforcementLevel === "mandatory");
}
