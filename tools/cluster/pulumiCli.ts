/**
 * The real Pulumi CLI, as `npm run build:cluster` builds it, run on a copy of the project with a
 * local file backend: the user's checkout (its stack files above all) is never written to.
 */
import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { REPO_ROOT } from "../repoRoot";

/** Where build:cluster links its output. */
export const CLUSTER_TOOLS = path.join(REPO_ROOT, ".cluster");
export const CLUSTER_BIN = path.join(CLUSTER_TOOLS, "bin");
const PLUGINS = path.join(CLUSTER_TOOLS, "pulumi-home", "plugins");

/** What the program needs of the checkout to run (it shares the image-reference parser with the pack). */
const PROJECT_ENTRIES = ["Pulumi.yaml", "index.ts", "components", "policy", "package.json", "tsconfig.json"];

export interface CliResult {
    readonly code: number;
    readonly stdout: string;
    readonly stderr: string;
}

export interface PulumiProject {
    /** The copy of the project that the CLI runs in. */
    readonly dir: string;
    /** Runs `pulumi <args>` in the copy; resolves with the exit code, never throws for a non-zero one. */
    run(args: readonly string[], opts?: { timeoutMs?: number; env?: Record<string, string> }): Promise<CliResult>;
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

/**
 * Copies the project (stack files given by `stackFiles`, name -> YAML text) into a temp folder and
 * returns a runner whose CLI uses a file backend and a home of its own, with build:cluster's plugins.
 */
export function pulumiProject(stackFiles: Record<string, string>): PulumiProject {
    const missing = missingClusterTools();
    if (missing) throw new Error(missing);
    const base = fs.mkdtempSync(path.join(os.tmpdir(), "a8-pulumi-"));
    const dir = path.join(base, "project");
    const home = path.join(base, "home");
    const backend = path.join(base, "backend");
    for (const d of [dir, home, backend]) fs.mkdirSync(d);
    for (const entry of PROJECT_ENTRIES) fs.cpSync(path.join(REPO_ROOT, entry), path.join(dir, entry), { recursive: true });
    fs.symlinkSync(path.join(REPO_ROOT, "node_modules"), path.join(dir, "node_modules"));
    fs.symlinkSync(path.resolve(PLUGINS), path.join(home, "plugins"));
    for (const [stack, yaml] of Object.entries(stackFiles)) fs.writeFileSync(path.join(dir, `Pulumi.${stack}.yaml`), yaml);

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
        run: (args, opts = {}) =>
            new Promise((resolve) => {
                execFile(
                    path.resolve(CLUSTER_BIN, "pulumi"),
                    [...args, "--non-interactive", "--color=never"],
                    { cwd: dir, env: { ...env, ...opts.env }, timeout: opts.timeoutMs ?? 300_000, maxBuffer: 64 * 1024 * 1024 },
                    (error, stdout, stderr) => {
                        const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
                        resolve({ code, stdout, stderr });
                    },
                );
            }),
        remove: () => fs.rmSync(base, { recursive: true, force: true }),
    };
}
