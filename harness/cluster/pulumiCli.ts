/**
 * The real Pulumi CLI, as `npm run build:cluster` builds it, run on a copy of the project with a
 * local file backend: the user's checkout (its stack files above all) is never written to.
 */
import { runToEnd } from "../../cli/process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { POLICY_DIR, ensurePackBuilt } from "../../cli/check/packBuild";
import { REPO_ROOT } from "../../cli/repoRoot";

/** Where build:cluster links its output. */
export const CLUSTER_TOOLS = path.join(REPO_ROOT, ".cluster");
export const CLUSTER_BIN = path.join(CLUSTER_TOOLS, "bin");
const PLUGINS = path.join(CLUSTER_TOOLS, "pulumi-home", "plugins");

/**
 * The CLI's arguments for the shipped pack under `policy/config/<configOf>.json`. The CLI runs the
 * compiled pack (policy/bin), so it is compiled first when its sources changed since `npm ci`.
 */
export function policyPackArgs(configOf: string): string[] {
    ensurePackBuilt();
    return ["--policy-pack", POLICY_DIR, "--policy-pack-config", path.join(POLICY_DIR, "config", `${configOf}.json`)];
}

/** What the program needs of the checkout to run (it shares the image-reference parser with the pack). */
export const PROJECT_ENTRIES = ["Pulumi.yaml", "index.ts", "components", "policy", "package.json", "tsconfig.json"];

export interface CliResult {
    readonly code: number;
    readonly stdout: string;
    readonly stderr: string;
}

export interface PulumiProject {
    /** The copy of the project that the CLI runs in. */
    readonly dir: string;
    /** The environment the CLI runs with (PATH with the cluster tools, backend, home): for other tools that run pulumi. */
    readonly env: NodeJS.ProcessEnv;
    /** Runs `pulumi <args>` in the copy; resolves with the exit code, never throws for a non-zero one. */
    run(args: readonly string[], opts?: { timeoutMs?: number; env?: Record<string, string> }): Promise<CliResult>;
    /**
     * Replaces the project's files by those of `source` (another checkout of the project: an
     * upgrade) and the stack files by `stackFiles`, keeping the encryption salt each stack has.
     */
    useSource(source: string, stackFiles: Record<string, string>): void;
    /** Removes the copy, the backend and the CLI's home. */
    remove(): void;
}

/** Why the tools are not usable, or undefined when they are. */
export function missingClusterTools(): string | undefined {
    for (const bin of ["pulumi", "pulumi-language-nodejs"]) {
        if (!fs.existsSync(path.join(CLUSTER_BIN, bin)))
            return `${path.join(".cluster", "bin", bin)} is missing: run npm run build:cluster`;
    }
    if (!fs.existsSync(PLUGINS)) return ".cluster/pulumi-home/plugins is missing: run npm run build:cluster";
    return undefined;
}

const DEFAULT_TIMEOUT_MS = 300_000;
const KILL_GRACE_MS = 5_000;

/**
 * Runs the CLI in a process group of its own: on a timeout the whole group (the language host, the
 * program, the providers, the pack) gets SIGTERM, then SIGKILL, so nothing outlives the test.
 */
async function runCli(args: readonly string[], cwd: string, env: NodeJS.ProcessEnv, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<CliResult> {
    const r = await runToEnd(`pulumi ${args[0]}`, path.resolve(CLUSTER_BIN, "pulumi"), args, {
        cwd,
        env,
        timeoutMs,
        graceMs: KILL_GRACE_MS,
    });
    const note = r.timedOut ? `\npulumi ${args[0]} did not finish within ${timeoutMs / 1000} s and was stopped` : "";
    return { code: r.code ?? 1, stdout: r.stdout, stderr: r.stderr + note };
}

/**
 * Copies the project (stack files given by `stackFiles`, name -> YAML text) into a temp folder and
 * returns a runner whose CLI uses a file backend and a home of its own, with build:cluster's plugins.
 */
export function pulumiProject(stackFiles: Record<string, string>, source = REPO_ROOT): PulumiProject {
    const missing = missingClusterTools();
    if (missing) throw new Error(missing);
    const base = fs.mkdtempSync(path.join(os.tmpdir(), "a8-pulumi-"));
    const dir = path.join(base, "project");
    const home = path.join(base, "home");
    const backend = path.join(base, "backend");
    for (const d of [dir, home, backend]) fs.mkdirSync(d);
    const copySource = (from: string): void => {
        for (const entry of PROJECT_ENTRIES) {
            fs.rmSync(path.join(dir, entry), { recursive: true, force: true });
            fs.cpSync(path.join(from, entry), path.join(dir, entry), { recursive: true });
        }
    };
    const writeStackFiles = (files: Record<string, string>): void => {
        for (const [stack, yaml] of Object.entries(files)) {
            const file = path.join(dir, `Pulumi.${stack}.yaml`);
            const salt = fs.existsSync(file) ? /^encryptionsalt: .*$/m.exec(fs.readFileSync(file, "utf8"))?.[0] : undefined;
            fs.writeFileSync(file, salt ? `${salt}\n${yaml}` : yaml);
        }
    };
    copySource(source);
    fs.symlinkSync(path.join(REPO_ROOT, "node_modules"), path.join(dir, "node_modules"));
    fs.symlinkSync(path.resolve(PLUGINS), path.join(home, "plugins"));
    writeStackFiles(stackFiles);

    const env: NodeJS.ProcessEnv = {
        ...process.env,
        PATH: `${path.resolve(CLUSTER_BIN)}${path.delimiter}${process.env.PATH ?? ""}`,
        PULUMI_HOME: home,
        PULUMI_BACKEND_URL: `file://${backend}`,
        // A test passphrase for the test's own throw-away backend.
        PULUMI_CONFIG_PASSPHRASE: "a8-cluster-tests",
        PULUMI_SKIP_UPDATE_CHECK: "true",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
        PULUMI_SKIP_CONFIRMATIONS: "true",
        NO_COLOR: "1",
        // No cluster unless a test names one: never the user's ~/.kube/config.
        KUBECONFIG: path.join(base, "no-kubeconfig"),
    };
    return {
        dir,
        env,
        run: (args, opts = {}) => runCli([...args, "--non-interactive", "--color=never"], dir, { ...env, ...opts.env }, opts.timeoutMs),
        useSource: (from, files) => {
            copySource(from);
            writeStackFiles(files);
        },
        remove: () => fs.rmSync(base, { recursive: true, force: true }),
    };
}
