// Typed view, expression resolution and linting of the workflow files, shared by the workflow tests.

import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { validateWorkflow, ValidationError } from "@action-validator/core";
import { shippedStacks } from "../../cli/program/stackConfig";

export const repoRoot = path.join(__dirname, "..", "..");
export const workflowsDir = path.join(repoRoot, ".github", "workflows");
export const SPAWN_TIMEOUT_MS = 30_000;

// ---------------------------------------------------------------------------
// Minimal typed view of a workflow file
// ---------------------------------------------------------------------------

export type Dict = Record<string, unknown>;
export type Scalar = string | number | boolean;

export interface Step {
    name?: string;
    id?: string;
    if?: string;
    uses?: string;
    run?: string;
    with?: Dict;
    env?: Dict;
    "working-directory"?: string;
}

export interface Concurrency {
    group: string;
    "cancel-in-progress"?: boolean | string;
}

export interface Job {
    name?: string;
    if?: string;
    needs?: string | string[];
    /** a job that calls a reusable workflow has `uses`, `with` and `secrets` instead of steps */
    uses?: string;
    with?: Dict;
    secrets?: "inherit" | Dict;
    "runs-on"?: unknown;
    "timeout-minutes"?: number;
    permissions?: Dict | string;
    environment?: string | { name: string; url?: string };
    concurrency?: string | Concurrency;
    strategy?: { matrix?: Dict };
    env?: Dict;
    steps?: Step[];
}

export interface Workflow {
    name?: string;
    on: unknown;
    permissions?: Dict | string;
    concurrency?: string | Concurrency;
    env?: Dict;
    jobs: Record<string, Job>;
}

export function isDict(value: unknown): value is Dict {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function workflowFiles(): string[] {
    if (!fs.existsSync(workflowsDir)) return [];
    return fs
        .readdirSync(workflowsDir)
        .filter((f) => f.endsWith(".yml") || f.endsWith(".yaml"))
        .sort();
}

export function loadWorkflow(file: string): Workflow {
    const text = fs.readFileSync(path.join(workflowsDir, file), "utf8");
    const doc = YAML.parseDocument(text, { uniqueKeys: true });
    assert.deepEqual(doc.errors.map(String), [], `${file} is not valid YAML`);
    const data: unknown = doc.toJS();
    assert.ok(isDict(data) && isDict(data.jobs), `${file} has no jobs mapping`);
    for (const [id, job] of Object.entries(data.jobs)) {
        assert.ok(isDict(job), `${file}: job ${id} is not a mapping`);
    }
    return data as unknown as Workflow;
}

export function needsOf(job: Job): string[] {
    if (job.needs === undefined) return [];
    return Array.isArray(job.needs) ? job.needs : [job.needs];
}

export function stepsOf(file: string, jobId: string, job: Job): Step[] {
    assert.ok(Array.isArray(job.steps) && job.steps.length > 0, `${file}: job ${jobId} has no steps`);
    return job.steps;
}

export function stepLabel(step: Step): string {
    return step.name ?? step.id ?? step.uses ?? (step.run ?? "").split("\n")[0];
}

export function concurrencyOf(c: string | Concurrency | undefined): Concurrency | undefined {
    if (c === undefined) return undefined;
    return typeof c === "string" ? { group: c } : c;
}

export function environmentName(job: Job): string | undefined {
    if (job.environment === undefined) return undefined;
    return typeof job.environment === "string" ? job.environment : job.environment.name;
}

/** The stacks the repository ships (tracked stack files); a user's own stack has no workflow job. */
export const repoStacks = (): string[] => shippedStacks(repoRoot);

export const sorted = (values: Iterable<string>): string[] => [...values].sort();

// ---------------------------------------------------------------------------
// Matrix expansion and expression resolution (enough for these workflows)
// ---------------------------------------------------------------------------

export type Combo = Record<string, Scalar>;

/** Expands `strategy.matrix` the way GitHub does: product, then include/exclude. */
export function expandMatrix(job: Job): Combo[] {
    const matrix = job.strategy?.matrix;
    if (matrix === undefined) return [{}];
    assert.ok(isDict(matrix), "strategy.matrix must be a mapping");
    let combos: Combo[] = [{}];
    const baseKeys: string[] = [];
    for (const [key, values] of Object.entries(matrix)) {
        if (key === "include" || key === "exclude") continue;
        assert.ok(Array.isArray(values), `matrix.${key} must be a list`);
        baseKeys.push(key);
        combos = combos.flatMap((c) => (values as Scalar[]).map((v) => ({ ...c, [key]: v })));
    }
    if (baseKeys.length === 0) combos = [];
    const matches = (combo: Combo, entry: Combo, keys: string[]): boolean => keys.every((k) => !(k in entry) || combo[k] === entry[k]);
    const exclude = (matrix.exclude ?? []) as Combo[];
    combos = combos.filter((c) => !exclude.some((e) => matches(c, e, Object.keys(e))));
    for (const entry of (matrix.include ?? []) as Combo[]) {
        const overlap = Object.keys(entry).filter((k) => baseKeys.includes(k));
        const targets = combos.filter((c) => overlap.length > 0 && matches(c, entry, overlap));
        if (targets.length === 0) combos.push({ ...entry });
        for (const t of targets) Object.assign(t, entry);
    }
    return combos;
}

/**
 * Replaces `${{ matrix.x }}` / `${{ inputs.x }}` / `${{ env.X }}` and then `$X` / `${X}`
 * with known values. `inputs` are the `with:` values of a caller of a reusable workflow.
 */
export function resolve(text: string, matrix: Combo, env: Record<string, string>, inputs: Combo = {}): string {
    let out = text.replace(/\$\{\{\s*matrix\.([\w-]+)\s*\}\}/g, (m, k: string) => (k in matrix ? String(matrix[k]) : m));
    out = out.replace(/\$\{\{\s*inputs\.([\w-]+)\s*\}\}/g, (m, k: string) => (k in inputs ? String(inputs[k]) : m));
    out = out.replace(/\$\{\{\s*env\.(\w+)\s*\}\}/g, (m, k: string) => env[k] ?? m);
    out = out.replace(/\$\{(\w+)\}|\$(\w+)/g, (m, a: string | undefined, b: string | undefined) => {
        const key = a ?? b ?? "";
        return env[key] ?? m;
    });
    return out;
}

export function envOf(scopes: Array<Dict | undefined>, matrix: Combo, inputs: Combo = {}): Record<string, string> {
    const env: Record<string, string> = {};
    for (const scope of scopes) {
        for (const [k, v] of Object.entries(scope ?? {})) env[k] = resolve(String(v), matrix, env, inputs);
    }
    return env;
}

export interface ResolvedStep {
    step: Step;
    index: number;
    /** run script with matrix/env references resolved and quotes removed */
    run: string;
    with: Record<string, string>;
}

/**
 * One job instance per matrix combination, with every step's inputs resolved.
 * For a job of a reusable workflow, `inputs` are what one caller passes in `with:`.
 */
export function instances(
    wf: Workflow,
    job: Job,
    inputs: Combo = {},
): Array<{ matrix: Combo; env: Record<string, string>; steps: ResolvedStep[] }> {
    return expandMatrix(job).map((matrix) => {
        const jobEnv = envOf([wf.env, job.env], matrix, inputs);
        const steps = (job.steps ?? []).map((step, index) => {
            const env = { ...jobEnv, ...envOf([step.env], matrix, inputs) };
            const withs: Record<string, string> = {};
            for (const [k, v] of Object.entries(step.with ?? {})) withs[k] = resolve(String(v), matrix, env, inputs);
            const run = resolve(step.run ?? "", matrix, env, inputs).replace(/["']/g, "");
            return { step, index, run, with: withs };
        });
        return { matrix, env: jobEnv, steps };
    });
}

export function findStep(steps: ResolvedStep[], what: string, pred: (s: ResolvedStep) => boolean): ResolvedStep {
    const found = steps.find(pred);
    assert.ok(found, `no step ${what}`);
    return found;
}

export function runs(command: RegExp): (s: ResolvedStep) => boolean {
    return (s) => command.test(s.run);
}

export const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

export function isPulumiAction(step: Step): boolean {
    return /^pulumi\/actions@/.test(step.uses ?? "");
}

export function allSteps(wf: Workflow): Array<{ jobId: string; step: Step }> {
    return Object.entries(wf.jobs).flatMap(([jobId, job]) => (job.steps ?? []).map((step) => ({ jobId, step })));
}

/** Every `if:` in the file: workflow jobs and steps. */
export function allConditions(wf: Workflow): string[] {
    return Object.values(wf.jobs).flatMap((job) => [
        ...(job.if === undefined ? [] : [job.if]),
        ...(job.steps ?? []).flatMap((s) => (s.if === undefined ? [] : [s.if])),
    ]);
}

// ---------------------------------------------------------------------------
// Reusable workflows (`on: workflow_call`) and the jobs that call them
// ---------------------------------------------------------------------------

export const DEPLOY_STACK = "deploy-stack.yml";

export interface CallInput {
    description?: string;
    required?: boolean;
    type?: string;
    default?: unknown;
}

/** File name of the reusable workflow of this repository that a job calls, if any. */
export function calledWorkflow(job: Job): string | undefined {
    if (job.uses === undefined) return undefined;
    return /^\.\/\.github\/workflows\/([^/@]+\.ya?ml)$/.exec(job.uses)?.[1];
}

/** The `on.workflow_call` trigger of a reusable workflow (undefined when it has none). */
export function workflowCallOf(wf: Workflow): { inputs: Record<string, CallInput>; secrets?: Dict } | undefined {
    if (!isDict(wf.on) || !("workflow_call" in wf.on)) return undefined;
    const call = wf.on.workflow_call;
    const inputs = isDict(call) && isDict(call.inputs) ? (call.inputs as Record<string, CallInput>) : {};
    const secrets = isDict(call) && isDict(call.secrets) ? call.secrets : undefined;
    return { inputs, secrets };
}

/** The inputs one caller job passes, as plain strings/numbers/booleans. */
export function callInputs(job: Job): Combo {
    const inputs: Combo = {};
    for (const [k, v] of Object.entries(job.with ?? {})) inputs[k] = v as Scalar;
    return inputs;
}

// ---------------------------------------------------------------------------
// The linter: @action-validator (JS API and CLI from the npm registry)
// ---------------------------------------------------------------------------

export interface FlatError {
    code: string;
    path: string;
    detail: string;
}

/** Flattens the validator's nested `one_of` states into a plain list. */
export function flatten(errors: ValidationError[]): FlatError[] {
    return errors.flatMap((e) => {
        const self: FlatError = { code: e.code, path: "path" in e ? e.path : "", detail: e.detail ?? e.title };
        const nested = "states" in e && e.states ? e.states.flatMap((s) => flatten(s.errors)) : [];
        return [self, ...nested];
    });
}

export function lint(source: string): FlatError[] {
    return flatten(validateWorkflow(source).errors);
}

export function cliPath(): string {
    const pkgFile = require.resolve("@action-validator/cli/package.json");
    const pkg = JSON.parse(fs.readFileSync(pkgFile, "utf8")) as { bin: Record<string, string> };
    return path.join(path.dirname(pkgFile), pkg.bin["action-validator"]);
}

export function runCli(file: string): { status: number | null; stderr: string } {
    const r = spawnSync(process.execPath, [cliPath(), file], {
        encoding: "utf8",
        timeout: SPAWN_TIMEOUT_MS,
        cwd: repoRoot,
    });
    assert.equal(r.error, undefined, `action-validator did not run: ${String(r.error)}`);
    return { status: r.status, stderr: r.stderr };
}
