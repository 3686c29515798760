/**
 * `npm run bench:up`: what the real Pulumi CLI costs on the test cluster (harness/cluster), for prod:
 * `pulumi up` from empty until every workload is Ready (the provider's await), a `pulumi up` with
 * nothing to do, `pulumi preview` with the policy pack, and `pulumi destroy`. The floor, measured in
 * the same run: the same objects (`npm run check -- --stack prod --out`) applied with one
 * `kubectl apply --server-side` and waited for until Ready, and deleted with their namespace.
 *
 *   npm run bench:up                 # 3 rounds, a table
 *   npm run bench:up -- --runs 5 --json
 *
 * Needs root (the cluster's network namespaces) and `npm run build:cluster`.
 */
import { execFile } from "child_process";
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { FlagSpec, parseFlags } from "../../cli/flags";
import { runBenchmarkCommand } from "./cli";
import { CLUSTER_BIN, CliResult, policyPackArgs, pulumiProject } from "../../harness/cluster/pulumiCli";
import { REDACTED } from "../../cli/check/out";
import { TestCluster, startTestCluster } from "../../harness/cluster/testCluster";
import { waitFor } from "../../cli/process";
import { REPO_ROOT } from "../../cli/repoRoot";
import { median, round } from "./stats";

const STACK = "prod";
const STEP_TIMEOUT_MS = 600_000;

interface Args {
    runs: number;
    json: boolean;
}

const USAGE = "usage: npm run bench:up [-- --runs N] [--json]";
const FLAGS = {
    "--runs": { kind: "integer", min: 1, max: 20 },
    "--json": { kind: "boolean" },
} as const satisfies Record<string, FlagSpec>;

export function parseArgs(argv: string[]): Args {
    const f = parseFlags(argv, FLAGS);
    return { runs: f["--runs"] ?? 3, json: f["--json"] ?? false };
}

function run(file: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<CliResult> {
    return new Promise((resolve) =>
        execFile(file, args, { cwd: REPO_ROOT, env, timeout: STEP_TIMEOUT_MS, maxBuffer: 64 * 1024 * 1024 }, (e, stdout, stderr) =>
            resolve({ code: e ? (typeof e.code === "number" ? e.code : 1) : 0, stdout, stderr }),
        ),
    );
}

async function timed(what: string, step: () => Promise<CliResult>): Promise<number> {
    const t = process.hrtime.bigint();
    const r = await step();
    if (r.code !== 0) throw new Error(`${what} failed (exit ${r.code}):\n${r.stdout.slice(-2000)}\n${r.stderr.slice(-2000)}`);
    return Number(process.hrtime.bigint() - t) / 1e9;
}

/** Every Deployment and StatefulSet of the namespace at its replicas, Ready. */
async function allReady(cluster: TestCluster, namespace: string): Promise<boolean> {
    const workloads = [
        ...(await cluster.api.list(`/apis/apps/v1/namespaces/${namespace}/deployments`)),
        ...(await cluster.api.list(`/apis/apps/v1/namespaces/${namespace}/statefulsets`)),
    ];
    return workloads.length > 0 && workloads.every((w) => (w.status?.readyReplicas ?? 0) === (w.spec.replicas ?? 1));
}

async function main(args: Args): Promise<void> {
    const cluster = await startTestCluster();
    const project = pulumiProject({ [STACK]: fs.readFileSync(path.join(REPO_ROOT, `Pulumi.${STACK}.yaml`), "utf8") });
    const manifests = fs.mkdtempSync(path.join(os.tmpdir(), "a8-bench-up-"));
    try {
        const env = { KUBECONFIG: cluster.kubeconfig };
        const kubectlEnv = { ...process.env, KUBECONFIG: cluster.kubeconfig };
        const kubectl = (...a: string[]): Promise<CliResult> => run(path.resolve(CLUSTER_BIN, "kubectl"), a, kubectlEnv);
        const pulumi = (...a: string[]): Promise<CliResult> => project.run([...a, "--stack", STACK], { env, timeoutMs: STEP_TIMEOUT_MS });
        const policy = policyPackArgs(STACK);
        await timed("pulumi stack init", () => project.run(["stack", "init", STACK]));
        const check = ["-r", path.join(REPO_ROOT, "cli", "check", "transpileCache.js"), path.join(REPO_ROOT, "cli", "check", "main.ts")];
        await timed("check --out", () => run(process.execPath, [...check, "--stack", STACK, "--out", manifests], process.env));
        const files = fs.readdirSync(manifests, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".yaml"));
        // `--out` never writes a secret: the floor's Secrets get fresh values, as the stack's do.
        for (const f of files) {
            const file = path.join(manifests, f);
            const text = fs.readFileSync(file, "utf8");
            if (text.includes(REDACTED))
                fs.writeFileSync(
                    file,
                    text.replaceAll(REDACTED, () => randomBytes(24).toString("hex")),
                );
        }
        const namespaceFiles = files.filter((f) => /^kind: Namespace$/m.test(fs.readFileSync(path.join(manifests, f), "utf8")));
        const namespace = /^ {2}name: (\S+)$/m.exec(fs.readFileSync(path.join(manifests, namespaceFiles[0]), "utf8"))?.[1] as string;
        const fileArgs = (list: string[]): string[] => list.flatMap((f) => ["-f", path.join(manifests, f)]);

        const figures: Record<string, number[]> = { up: [], noChangeUp: [], preview: [], destroy: [], apply: [], deleteNamespace: [] };
        for (let i = 0; i < args.runs; i++) {
            figures.up.push(await timed("pulumi up", () => pulumi("up", "--yes", "--skip-preview")));
            figures.noChangeUp.push(
                await timed("pulumi up (no change)", () => pulumi("up", "--yes", "--skip-preview", "--expect-no-changes")),
            );
            figures.preview.push(await timed("pulumi preview", () => pulumi("preview", ...policy)));
            figures.destroy.push(await timed("pulumi destroy", () => pulumi("destroy", "--yes", "--skip-preview")));

            figures.apply.push(
                await timed("kubectl apply --server-side", async () => {
                    let r = await kubectl("apply", "--server-side", ...fileArgs(namespaceFiles));
                    if (r.code === 0)
                        r = await kubectl("apply", "--server-side", ...fileArgs(files.filter((f) => !namespaceFiles.includes(f))));
                    if (r.code === 0)
                        await waitFor(`${namespace}: every workload Ready`, STEP_TIMEOUT_MS, () => allReady(cluster, namespace), 250);
                    return r;
                }),
            );
            figures.deleteNamespace.push(
                await timed("kubectl delete namespace", () => kubectl("delete", "namespace", namespace, "--wait=true")),
            );
        }
        const stat = (xs: number[]) => ({ median: round(median(xs)), max: round(Math.max(...xs)) });
        const result = {
            stack: STACK,
            runs: args.runs,
            seconds: Object.fromEntries(Object.entries(figures).map(([k, xs]) => [k, stat(xs)])),
            ratios: {
                upVsApply: round(median(figures.up) / median(figures.apply)),
                destroyVsDeleteNamespace: round(median(figures.destroy) / median(figures.deleteNamespace)),
            },
        };
        if (args.json) {
            process.stdout.write(`${JSON.stringify(result)}\n`);
            return;
        }
        const rows = Object.entries(result.seconds).map(
            ([k, s]) => `${k.padEnd(18)} ${String(s.median).padStart(8)} ${String(s.max).padStart(8)}`,
        );
        process.stdout.write(
            [
                `pulumi on the test cluster, ${STACK}, ${args.runs} runs (seconds)`,
                `${"step".padEnd(18)} ${"median".padStart(8)} ${"max".padStart(8)}`,
                ...rows,
                `up / server-side apply (the floor): ${result.ratios.upVsApply}x`,
                `destroy / namespace delete:          ${result.ratios.destroyVsDeleteNamespace}x`,
                "",
            ].join("\n"),
        );
    } finally {
        project.remove();
        fs.rmSync(manifests, { recursive: true, force: true });
        await cluster.stop();
    }
}

if (require.main === module) {
    runBenchmarkCommand("bench:up", USAGE, parseArgs, async (args) => {
        await main(args);
        return 0;
    });
}
