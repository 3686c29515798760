/**
 * `npm run bench:check`: what `npm run check` costs, measured against a baseline taken in the same
 * run on the same machine: a process that only loads @pulumi/pulumi, @pulumi/kubernetes and
 * @pulumi/policy. CPU seconds (user + system, the check's policy pack process included) are the
 * figure that matters on a shared machine; wall seconds are printed too.
 *
 *   npm run bench:check                        # check --stack prod vs the baseline, 5 runs each
 *   npm run bench:check -- --runs 9 --json     # one line of JSON
 *   npm run bench:check -- --objects 3000,10000 --concurrent 4
 *
 * `--objects N` checks N generated objects (copies of tests/fixtures/manifests/good, the input
 * the README's figures were measured with, in as many namespaces as needed); `--concurrent K`
 * starts K `check --stack prod` at once and reports how many succeeded.
 */
import { runToEnd } from "../../cli/process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { FlagSpec, parseFlags } from "../../cli/flags";
import { REPO_ROOT } from "../../cli/repoRoot";
import { log, runBenchmarkCommand } from "./cli";
import { median, round } from "./stats";

const CHECK = ["-r", path.join(REPO_ROOT, "cli", "check", "transpileCache.js"), path.join(REPO_ROOT, "cli", "check", "main.ts")];
const GOOD = path.join(REPO_ROOT, "tests", "fixtures", "manifests", "good");
const BASELINE = ["-e", 'require("@pulumi/pulumi"); require("@pulumi/kubernetes"); require("@pulumi/policy");'];
/** Generous for one run on a busy machine; a run that takes longer is reported as failed. */
const RUN_TIMEOUT_MS = 900_000;

interface Measured {
    cpu: number;
    wall: number;
    code: number | null;
    stderr: string;
}

/**
 * Runs `node <args>` under bash and reads bash's `times`: the CPU of every process the command
 * waited for (so the check's policy pack process counts).
 */
async function measure(args: string[]): Promise<Measured> {
    const script = '"$@" >/dev/null 2>"$BENCH_STDERR"; rc=$?; times; exit $rc';
    const errFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "bench-check-")), "stderr");
    const started = process.hrtime.bigint();
    // Killed with its whole process group (bash, the check and its policy pack) past the deadline.
    const run = await runToEnd("check", "bash", ["-c", script, "bash", process.execPath, ...args], {
        cwd: REPO_ROOT,
        env: { ...process.env, BENCH_STDERR: errFile },
        timeoutMs: RUN_TIMEOUT_MS,
        graceMs: 0,
    });
    const wall = Number(process.hrtime.bigint() - started) / 1e9;
    let stderr = "";
    try {
        stderr = fs.readFileSync(errFile, "utf8");
    } catch {
        /* none */
    }
    fs.rmSync(path.dirname(errFile), { recursive: true, force: true });
    // `times` prints the shell's own line, then its children's: "0m1.234s 0m0.321s".
    const lines = run.stdout.trim().split("\n");
    const seconds = (t: string) => {
        const m = /^(\d+)m([\d.]+)s$/.exec(t);
        return m ? Number(m[1]) * 60 + Number(m[2]) : NaN;
    };
    const [user, sys] = (lines[lines.length - 1] ?? "").trim().split(/\s+/).map(seconds);
    return { cpu: user + sys, wall, code: run.code, stderr };
}

interface Series {
    name: string;
    runs: number;
    failed: number;
    cpuMedian: number;
    cpuMax: number;
    wallMedian: number;
    wallMax: number;
}

function series(name: string, ms: Measured[]): Series {
    const ok = ms.filter((m) => m.code === 0 || m.code === 1);
    const cpu = ok.map((m) => m.cpu);
    const wall = ok.map((m) => m.wall);
    return {
        name,
        runs: ms.length,
        failed: ms.length - ok.length,
        cpuMedian: cpu.length ? round(median(cpu)) : NaN,
        cpuMax: cpu.length ? round(Math.max(...cpu)) : NaN,
        wallMedian: wall.length ? round(median(wall)) : NaN,
        wallMax: wall.length ? round(Math.max(...wall)) : NaN,
    };
}

/** `count` objects: copies of the good fixture, one namespace per copy, the last copy cut short. */
function generateManifests(count: number, dir: string): void {
    const docs: Record<string, any>[] = [];
    for (const f of fs.readdirSync(GOOD).sort()) {
        for (const d of YAML.parseAllDocuments(fs.readFileSync(path.join(GOOD, f), "utf8"))) {
            const v = d.toJS();
            if (v) docs.push(v);
        }
    }
    const out: string[] = [];
    for (let i = 0; out.length < count; i++) {
        const ns = `amalgam8-${i}`;
        for (const doc of docs) {
            if (out.length >= count) break;
            const copy = JSON.parse(JSON.stringify(doc));
            if (copy.kind === "Namespace") copy.metadata.name = ns;
            else copy.metadata.namespace = ns;
            out.push(YAML.stringify(copy));
        }
    }
    fs.writeFileSync(path.join(dir, "objects.yaml"), out.join("---\n"));
}

interface Options {
    runs: number;
    objects: number[];
    concurrent: number;
    json: boolean;
}

const USAGE = "usage: npm run bench:check [-- --runs N] [--objects N[,N...]] [--concurrent K] [--json]";
const FLAGS = {
    "--runs": { kind: "integer", min: 1, max: 100 },
    "--objects": { kind: "integers", min: 1, max: 1_000_000 },
    "--concurrent": { kind: "integer", min: 1, max: 64 },
    "--json": { kind: "boolean" },
} as const satisfies Record<string, FlagSpec>;

export function parseOptions(argv: string[]): Options {
    const f = parseFlags(argv, FLAGS);
    return { runs: f["--runs"] ?? 5, objects: f["--objects"] ?? [], concurrent: f["--concurrent"] ?? 0, json: f["--json"] ?? false };
}

async function main(opts: Options): Promise<number> {
    // Warm up once (transpile cache, compiled pack), then alternate so both series see the same load.
    log("bench:check: warming up");
    await measure([...CHECK, "--stack", "prod"]);
    const base: Measured[] = [];
    const prod: Measured[] = [];
    for (let i = 0; i < opts.runs; i++) {
        log(`bench:check: run ${i + 1}/${opts.runs}`);
        base.push(await measure(BASELINE));
        prod.push(await measure([...CHECK, "--stack", "prod"]));
    }
    const results: Series[] = [
        series("baseline: load @pulumi/pulumi + @pulumi/kubernetes + @pulumi/policy", base),
        series("check --stack prod", prod),
    ];

    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bench-check-objects-"));
    try {
        for (const n of opts.objects) {
            const dir = path.join(tmp, String(n));
            fs.mkdirSync(dir);
            generateManifests(n, dir);
            log(`bench:check: ${n} generated objects`);
            const m = await measure([...CHECK, "--manifests", dir, "--json"]);
            if (m.code !== 0 && m.code !== 1) log(`  failed (exit ${m.code}): ${m.stderr.trim().split("\n").slice(-3).join(" | ")}`);
            results.push(series(`check --manifests (${n} objects)`, [m]));
        }
    } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
    }

    let concurrent: { checks: number; succeeded: number; exitCodes: (number | null)[]; wallMax: number } | undefined;
    if (opts.concurrent > 0) {
        log(`bench:check: ${opts.concurrent} checks at once`);
        const ms = await Promise.all(Array.from({ length: opts.concurrent }, () => measure([...CHECK, "--stack", "prod"])));
        for (const m of ms.filter((x) => x.code !== 0)) log(`  exit ${m.code}: ${m.stderr.trim().split("\n").slice(-2).join(" | ")}`);
        concurrent = {
            checks: ms.length,
            succeeded: ms.filter((m) => m.code === 0).length,
            exitCodes: ms.map((m) => m.code),
            wallMax: round(Math.max(...ms.map((m) => m.wall))),
        };
    }

    const ratio = round(results[1].cpuMedian / results[0].cpuMedian);
    const load = os.loadavg().map((x) => round(x));
    if (opts.json) {
        process.stdout.write(
            JSON.stringify({ cpus: os.cpus().length, loadavg: load, series: results, ratio, ...(concurrent ? { concurrent } : {}) }) + "\n",
        );
    } else {
        const w = Math.max(...results.map((s) => s.name.length));
        const lines = [
            `${"".padEnd(w)}  runs  CPU s median / max  wall s median / max`,
            ...results.map(
                (s) =>
                    `${s.name.padEnd(w)}  ${String(s.runs).padStart(4)}  ` +
                    `${s.cpuMedian.toFixed(2).padStart(9)} / ${s.cpuMax.toFixed(2).padEnd(6)}  ` +
                    `${s.wallMedian.toFixed(2).padStart(9)} / ${s.wallMax.toFixed(2)}${s.failed ? `  (${s.failed} failed)` : ""}`,
            ),
            "",
            `ratio (CPU median, check --stack prod / baseline): ${ratio}`,
            ...(concurrent
                ? [
                      `${concurrent.checks} checks at once: ${concurrent.succeeded} succeeded ` +
                          `(exit codes ${concurrent.exitCodes.join(", ")}), slowest ${concurrent.wallMax} s wall`,
                  ]
                : []),
            `machine: ${os.cpus().length} CPUs, load average ${load.join(" ")}`,
        ];
        process.stdout.write(lines.join("\n") + "\n");
    }
    return 0;
}

if (require.main === module) runBenchmarkCommand("bench:check", USAGE, parseOptions, main);
