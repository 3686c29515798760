import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { validateWorkflow, ValidationError } from "@action-validator/core";

const repoRoot = path.join(__dirname, "..", "..");
const workflowsDir = path.join(repoRoot, ".github", "workflows");
const brokenFixture = path.join(__dirname, "..", "fixtures", "workflows", "broken.yml");
const docsFile = path.join(repoRoot, "docs", "ci.md");
const PROMOTION_ORDER = ["dev", "staging", "prod"];
const SPAWN_TIMEOUT_MS = 30_000;

// ---------------------------------------------------------------------------
// Minimal typed view of a workflow file
// ---------------------------------------------------------------------------

type Dict = Record<string, unknown>;
type Scalar = string | number | boolean;

interface Step {
  name?: string;
  id?: string;
  if?: string;
  uses?: string;
  run?: string;
  with?: Dict;
  env?: Dict;
  "working-directory"?: string;
}

interface Concurrency {
  group: string;
  "cancel-in-progress"?: boolean | string;
}

interface Job {
  name?: string;
  if?: string;
  needs?: string | string[];
  "runs-on"?: unknown;
  permissions?: Dict | string;
  environment?: string | { name: string; url?: string };
  concurrency?: string | Concurrency;
  strategy?: { matrix?: Dict };
  env?: Dict;
  steps?: Step[];
}

interface Workflow {
  name?: string;
  on: unknown;
  permissions?: Dict | string;
  concurrency?: string | Concurrency;
  env?: Dict;
  jobs: Record<string, Job>;
}

function isDict(value: unknown): value is Dict {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function workflowFiles(): string[] {
  if (!fs.existsSync(workflowsDir)) return [];
  return fs
    .readdirSync(workflowsDir)
    .filter((f) => f.endsWith(".yml") || f.endsWith(".yaml"))
    .sort();
}

function loadWorkflow(file: string): Workflow {
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

function needsOf(job: Job): string[] {
  if (job.needs === undefined) return [];
  return Array.isArray(job.needs) ? job.needs : [job.needs];
}

function stepsOf(file: string, jobId: string, job: Job): Step[] {
  assert.ok(Array.isArray(job.steps) && job.steps.length > 0, `${file}: job ${jobId} has no steps`);
  return job.steps;
}

function stepLabel(step: Step): string {
  return step.name ?? step.id ?? step.uses ?? (step.run ?? "").split("\n")[0];
}

function concurrencyOf(c: string | Concurrency | undefined): Concurrency | undefined {
  if (c === undefined) return undefined;
  return typeof c === "string" ? { group: c } : c;
}

function environmentName(job: Job): string | undefined {
  if (job.environment === undefined) return undefined;
  return typeof job.environment === "string" ? job.environment : job.environment.name;
}

/** Stacks defined in the repository: one `Pulumi.<stack>.yaml` per stack. */
function repoStacks(): string[] {
  return fs
    .readdirSync(repoRoot)
    .map((f) => /^Pulumi\.([^.]+)\.ya?ml$/.exec(f)?.[1])
    .filter((s): s is string => s !== undefined)
    .sort();
}

const sorted = (values: Iterable<string>): string[] => [...values].sort();

// ---------------------------------------------------------------------------
// Matrix expansion and expression resolution (enough for these workflows)
// ---------------------------------------------------------------------------

type Combo = Record<string, Scalar>;

/** Expands `strategy.matrix` the way GitHub does: product, then include/exclude. */
function expandMatrix(job: Job): Combo[] {
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
  const matches = (combo: Combo, entry: Combo, keys: string[]): boolean =>
    keys.every((k) => !(k in entry) || combo[k] === entry[k]);
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

function stacksOfMatrix(job: Job): string[] {
  return sorted(expandMatrix(job).map((c) => String(c.stack)));
}

/** Replaces `${{ matrix.x }}` / `${{ env.X }}` and then `$X` / `${X}` with known values. */
function resolve(text: string, matrix: Combo, env: Record<string, string>): string {
  let out = text.replace(/\$\{\{\s*matrix\.([\w-]+)\s*\}\}/g, (m, k: string) =>
    k in matrix ? String(matrix[k]) : m,
  );
  out = out.replace(/\$\{\{\s*env\.(\w+)\s*\}\}/g, (m, k: string) => env[k] ?? m);
  out = out.replace(/\$\{(\w+)\}|\$(\w+)/g, (m, a: string | undefined, b: string | undefined) => {
    const key = a ?? b ?? "";
    return env[key] ?? m;
  });
  return out;
}

function envOf(scopes: Array<Dict | undefined>, matrix: Combo): Record<string, string> {
  const env: Record<string, string> = {};
  for (const scope of scopes) {
    for (const [k, v] of Object.entries(scope ?? {})) env[k] = resolve(String(v), matrix, env);
  }
  return env;
}

interface ResolvedStep {
  step: Step;
  index: number;
  /** run script with matrix/env references resolved and quotes removed */
  run: string;
  with: Record<string, string>;
}

/** One job instance per matrix combination, with every step's inputs resolved. */
function instances(wf: Workflow, job: Job): Array<{ matrix: Combo; steps: ResolvedStep[] }> {
  return expandMatrix(job).map((matrix) => {
    const jobEnv = envOf([wf.env, job.env], matrix);
    const steps = (job.steps ?? []).map((step, index) => {
      const env = { ...jobEnv, ...envOf([step.env], matrix) };
      const withs: Record<string, string> = {};
      for (const [k, v] of Object.entries(step.with ?? {})) withs[k] = resolve(String(v), matrix, env);
      const run = resolve(step.run ?? "", matrix, env).replace(/["']/g, "");
      return { step, index, run, with: withs };
    });
    return { matrix, steps };
  });
}

function findStep(steps: ResolvedStep[], what: string, pred: (s: ResolvedStep) => boolean): ResolvedStep {
  const found = steps.find(pred);
  assert.ok(found, `no step ${what}`);
  return found;
}

function runs(command: RegExp): (s: ResolvedStep) => boolean {
  return (s) => command.test(s.run);
}

const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

function isPulumiAction(step: Step): boolean {
  return /^pulumi\/actions@/.test(step.uses ?? "");
}

function allSteps(wf: Workflow): Array<{ jobId: string; step: Step }> {
  return Object.entries(wf.jobs).flatMap(([jobId, job]) => (job.steps ?? []).map((step) => ({ jobId, step })));
}

/** Every `if:` in the file: workflow jobs and steps. */
function allConditions(wf: Workflow): string[] {
  return Object.values(wf.jobs).flatMap((job) => [
    ...(job.if === undefined ? [] : [job.if]),
    ...(job.steps ?? []).flatMap((s) => (s.if === undefined ? [] : [s.if])),
  ]);
}

// ---------------------------------------------------------------------------
// The linter: @action-validator (JS API and CLI from the npm registry)
// ---------------------------------------------------------------------------

interface FlatError {
  code: string;
  path: string;
  detail: string;
}

/** Flattens the validator's nested `one_of` states into a plain list. */
function flatten(errors: ValidationError[]): FlatError[] {
  return errors.flatMap((e) => {
    const self: FlatError = { code: e.code, path: "path" in e ? e.path : "", detail: e.detail ?? e.title };
    const nested = "states" in e && e.states ? e.states.flatMap((s) => flatten(s.errors)) : [];
    return [self, ...nested];
  });
}

function lint(source: string): FlatError[] {
  return flatten(validateWorkflow(source).errors);
}

function cliPath(): string {
  const pkgFile = require.resolve("@action-validator/cli/package.json");
  const pkg = JSON.parse(fs.readFileSync(pkgFile, "utf8")) as { bin: Record<string, string> };
  return path.join(path.dirname(pkgFile), pkg.bin["action-validator"]);
}

function runCli(file: string): { status: number | null; stderr: string } {
  const r = spawnSync(process.execPath, [cliPath(), file], {
    encoding: "utf8",
    timeout: SPAWN_TIMEOUT_MS,
    cwd: repoRoot,
  });
  assert.equal(r.error, undefined, `action-validator did not run: ${String(r.error)}`);
  return { status: r.status, stderr: r.stderr };
}

describe("GitHub workflows: linter", () => {
  it("rejects the broken fixture, once for each of its defects (JS API)", () => {
    const errors = lint(fs.readFileSync(brokenFixture, "utf8"));
    const has = (pred: (e: FlatError) => boolean, what: string): void =>
      assert.ok(errors.some(pred), `${what} was not reported: ${JSON.stringify(errors, null, 1)}`);
    has((e) => e.path === "/on" && /'pull_reqest'/.test(e.detail), "the unknown event pull_reqest");
    has((e) => e.path === "/jobs/build" && /'run-on-failure'/.test(e.detail), "the unknown job key run-on-failure");
    has((e) => e.code === "required" && e.path === "/jobs/lint/runs-on", "the missing runs-on of job lint");
    has((e) => e.code === "unresolved_job" && /publish/.test(e.detail), "needs: publish (no such job)");
  });

  it("the action-validator CLI exits 1 on the broken fixture and 0 on a valid workflow", () => {
    const bad = runCli(brokenFixture);
    assert.equal(bad.status, 1, bad.stderr);
    assert.match(bad.stderr, /unresolved_job/);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "workflow-lint-"));
    try {
      const good = path.join(dir, "good.yml");
      fs.writeFileSync(good, "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ok\n");
      const ok = runCli(good);
      assert.equal(ok.status, 0, ok.stderr);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("rejects pr.yml once a job loses runs-on or needs a job that does not exist", () => {
    const source = fs.readFileSync(path.join(workflowsDir, "pr.yml"), "utf8");
    assert.deepEqual(lint(source), [], "pr.yml itself must be valid for this test to mean anything");

    const noRunner = YAML.parseDocument(source);
    noRunner.deleteIn(["jobs", "test", "runs-on"]);
    assert.ok(lint(noRunner.toString()).some((e) => e.path === "/jobs/test/runs-on"));

    const badNeeds = YAML.parseDocument(source);
    badNeeds.setIn(["jobs", "preview", "needs"], ["test", "lint"]);
    assert.ok(lint(badNeeds.toString()).some((e) => e.code === "unresolved_job" && /lint/.test(e.detail)));
  });

  it("finds pr.yml and deploy.yml in .github/workflows", () => {
    const files = workflowFiles();
    assert.ok(files.includes("pr.yml"), `workflows found: ${files.join(", ")}`);
    assert.ok(files.includes("deploy.yml"), `workflows found: ${files.join(", ")}`);
  });

  for (const file of workflowFiles()) {
    it(`${file} passes the linter (JS API and CLI)`, () => {
      const full = path.join(workflowsDir, file);
      assert.deepEqual(lint(fs.readFileSync(full, "utf8")), []);
      const cli = runCli(full);
      assert.equal(cli.status, 0, cli.stderr);
    });
  }
});

// ---------------------------------------------------------------------------
// Hygiene that applies to every workflow
// ---------------------------------------------------------------------------

describe("GitHub workflows: hygiene", () => {
  for (const file of workflowFiles()) {
    describe(file, () => {
      it("pins every action to a major version tag or a full commit SHA", () => {
        for (const { jobId, step } of allSteps(loadWorkflow(file))) {
          if (step.uses === undefined) continue;
          assert.match(step.uses, /^[\w.-]+\/[\w./-]+@(v\d+|[0-9a-f]{40})$/, `${jobId}: ${step.uses}`);
        }
      });

      it("keeps workflow permissions read-only and grants writes only to pull-requests", () => {
        const wf = loadWorkflow(file);
        assert.ok(isDict(wf.permissions), "top-level permissions must be an explicit mapping");
        assert.ok(Object.values(wf.permissions).every((v) => v !== "write"), "top-level permissions must not write");
        for (const [id, job] of Object.entries(wf.jobs)) {
          assert.notEqual(job.permissions, "write-all", id);
          if (!isDict(job.permissions)) continue;
          for (const [scope, level] of Object.entries(job.permissions)) {
            if (level === "write") assert.equal(scope, "pull-requests", `${id} writes ${scope}`);
          }
        }
      });

      it("never reads secrets in an if: condition", () => {
        for (const cond of allConditions(loadWorkflow(file))) assert.doesNotMatch(cond, /secrets/);
      });

      it("has run scripts that bash can parse and that do not inline ${{ }} expressions", () => {
        for (const { jobId, step } of allSteps(loadWorkflow(file))) {
          if (step.run === undefined) continue;
          assert.doesNotMatch(step.run, /\$\{\{/, `${jobId} / ${stepLabel(step)}: pass values through env`);
          const r = spawnSync("bash", ["-n"], { input: step.run, encoding: "utf8", timeout: SPAWN_TIMEOUT_MS });
          assert.equal(r.error, undefined, String(r.error));
          assert.equal(r.status, 0, `${jobId} / ${stepLabel(step)}: ${r.stderr}`);
        }
      });

      it("has github-script scripts that compile", () => {
        const AsyncFunction = Object.getPrototypeOf(async () => undefined).constructor as new (
          ...args: string[]
        ) => unknown;
        for (const { jobId, step } of allSteps(loadWorkflow(file))) {
          if (!/^actions\/github-script@/.test(step.uses ?? "")) continue;
          const script = String(step.with?.script ?? "");
          assert.doesNotMatch(script, /\$\{\{/, `${jobId}: pass values through env`);
          assert.doesNotThrow(() => new AsyncFunction("require", "github", "context", "core", script), jobId);
        }
      });
    });
  }
});

// ---------------------------------------------------------------------------
// pr.yml
// ---------------------------------------------------------------------------

describe("pr.yml", () => {
  const wf = (): Workflow => loadWorkflow("pr.yml");

  it("runs on pull_request and cancels superseded runs of the same pull request", () => {
    const w = wf();
    assert.ok(isDict(w.on) && "pull_request" in w.on, "on: pull_request");
    const c = concurrencyOf(w.concurrency);
    assert.ok(c, "workflow concurrency");
    assert.match(c.group, /github\.event\.pull_request\.number/);
    assert.equal(c["cancel-in-progress"], true);
  });

  it("job test installs redis and haproxy, then runs npm ci and npm test on Node 20", () => {
    const job = wf().jobs.test;
    assert.ok(job, "job test");
    const [inst] = instances(wf(), job);
    const apt = findStep(inst.steps, "installing the servers", runs(/apt-get install[^\n]*redis-server/));
    for (const pkg of ["redis-server", "redis-sentinel", "haproxy"]) assert.match(apt.run, new RegExp(`\\b${pkg}\\b`));
    const node = findStep(inst.steps, "setting up node", (s) => /^actions\/setup-node@/.test(s.step.uses ?? ""));
    assert.equal(node.with["node-version"], "20");
    assert.equal(node.with.cache, "npm");
    const ci = findStep(inst.steps, "running npm ci", runs(/^npm ci\b/m));
    const test = findStep(inst.steps, "running npm test", runs(/^npm test\b/m));
    assert.ok(apt.index < test.index && ci.index < test.index && node.index < ci.index);
  });

  it("job check gates, renders head and base, diffs, uploads and comments for every stack", () => {
    const w = wf();
    const job = w.jobs.check;
    assert.ok(job, "job check");
    assert.ok(isDict(job.permissions) && job.permissions["pull-requests"] === "write", "pull-requests: write");
    assert.deepEqual(stacksOfMatrix(job), repoStacks());
    for (const { matrix, steps } of instances(w, job)) {
      const stack = String(matrix.stack);
      const ci = findStep(steps, "running npm ci", runs(/^npm ci\b/m));
      const gate = findStep(steps, `checking ${stack}`, runs(new RegExp(`^npm run check -- --stack ${stack}\\s*$`, "m")));
      const head = findStep(
        steps,
        `rendering ${stack} of the pull request`,
        runs(new RegExp(`^npm run check -- --stack ${stack} --out rendered/head/${stack}\\s*$`, "m")),
      );
      const baseCheckout = findStep(
        steps,
        "checking out the base commit",
        (s) =>
          /^actions\/checkout@/.test(s.step.uses ?? "") &&
          /github\.event\.pull_request\.base\.sha/.test(s.with.ref ?? ""),
      );
      const baseDir = baseCheckout.with.path;
      assert.ok(baseDir && baseDir !== "." && !path.isAbsolute(baseDir), "base checked out into a subfolder");
      const base = findStep(
        steps,
        `rendering ${stack} of the base branch`,
        (s) =>
          s.step["working-directory"] === baseDir &&
          /\bnpm ci\b/.test(s.run) &&
          new RegExp(`npm run check -- --stack ${stack} --out \\S*rendered/base/${stack}\\b`).test(s.run),
      );
      assert.match(base.run, /::notice/, "a base that cannot render is reported with a notice");
      const diff = findStep(
        steps,
        "diffing the trees",
        runs(new RegExp(`diff -ru\\w* rendered/base/${stack} rendered/head/${stack}`)),
      );
      const upload = findStep(steps, "uploading the trees", (s) => /^actions\/upload-artifact@/.test(s.step.uses ?? ""));
      for (const p of [`rendered/base/${stack}`, `rendered/head/${stack}`, `rendered/${stack}.diff`]) {
        assert.ok(upload.with.path.split("\n").map((l) => l.trim()).includes(p), `artifact holds ${p}`);
      }
      const comment = findStep(steps, "posting the comment", (s) => /^actions\/github-script@/.test(s.step.uses ?? ""));
      const script = comment.with.script;
      assert.match(script, /<!-- a8-manifest-diff:\$\{stack\} -->/, "per-stack marker");
      for (const api of ["listComments", "updateComment", "createComment"]) assert.ok(script.includes(api), api);
      assert.match(script, /truncated/i);
      const order = [ci, gate, head, baseCheckout, base, diff, upload, comment].map((s) => s.index);
      assert.deepEqual(order, [...order].sort((a, b) => a - b), "steps run in order");
    }
  });

  it("job preview runs after test and check, with the policy pack and its per-stack config", () => {
    const w = wf();
    const job = w.jobs.preview;
    assert.ok(job, "job preview");
    assert.deepEqual(sorted(needsOf(job)), ["check", "test"]);
    assert.ok(isDict(job.permissions) && job.permissions["pull-requests"] === "write", "pull-requests: write");
    assert.deepEqual(stacksOfMatrix(job), repoStacks());
    for (const { matrix, steps } of instances(w, job)) {
      const stack = String(matrix.stack);
      const pulumi = findStep(steps, "running pulumi/actions", (s) => isPulumiAction(s.step));
      assert.equal(pulumi.step.uses, "pulumi/actions@v6");
      assert.equal(pulumi.with.command, "preview");
      assert.equal(pulumi.with.policyPacks, "policy");
      assert.equal(pulumi.with.policyPackConfigs, `policy/config/${stack}.json`);
      assert.equal(pulumi.with["comment-on-pr"], "true");
      assert.match(pulumi.with["stack-name"], /matrix\.stack/);
      const ci = findStep(steps, "running npm ci", runs(/^npm ci\b/m));
      assert.ok(ci.index < pulumi.index, "npm ci runs before the preview");
      assert.equal(matrix.kubeconfig_secret, `KUBECONFIG_${stack.toUpperCase()}`);
    }
  });

  it("skips the preview with a notice when the Pulumi or kubeconfig secrets are absent", () => {
    const job = wf().jobs.preview;
    assert.ok(job, "job preview");
    const steps = stepsOf("pr.yml", "preview", job);
    const gate = steps.find((s) => s.id !== undefined && /::notice/.test(s.run ?? ""));
    assert.ok(gate?.id, "a gate step with an id emits a ::notice");
    const env = Object.values(gate.env ?? {}).map(String).join("\n");
    for (const ref of ["secrets.PULUMI_ACCESS_TOKEN", "secrets.PULUMI_BACKEND_URL", "secrets[matrix.kubeconfig_secret]"]) {
      assert.ok(env.includes(ref), `the gate maps ${ref} to env`);
    }
    assert.ok(steps.indexOf(gate) === 0, "the gate runs first");
    const guard = new RegExp(`steps\\.${escapeRe(gate.id)}\\.outputs\\.\\w+ == 'true'`);
    for (const step of steps.slice(1)) {
      assert.match(step.if ?? "", guard, `step "${stepLabel(step)}" must be guarded by the gate`);
    }
  });
});

// ---------------------------------------------------------------------------
// deploy.yml
// ---------------------------------------------------------------------------

describe("deploy.yml", () => {
  const wf = (): Workflow => loadWorkflow("deploy.yml");

  /** Deploy jobs keyed by stack (the environment they are bound to). */
  function deployJobs(w: Workflow): Map<string, { id: string; job: Job }> {
    const byStack = new Map<string, { id: string; job: Job }>();
    for (const [id, job] of Object.entries(w.jobs)) {
      if (!(job.steps ?? []).some((s) => isPulumiAction(s) && s.with?.command === "up")) continue;
      const env = environmentName(job);
      assert.ok(env, `deploy job ${id} must be bound to an environment`);
      assert.ok(!byStack.has(env), `two deploy jobs for ${env}`);
      byStack.set(env, { id, job });
    }
    return byStack;
  }

  it("runs on push to main and on workflow_dispatch", () => {
    const on = wf().on;
    assert.ok(isDict(on), "on must be a mapping");
    assert.ok(isDict(on.push) && Array.isArray(on.push.branches) && on.push.branches.includes("main"));
    assert.ok("workflow_dispatch" in on);
  });

  it("gates on npm test and npm run check of every stack", () => {
    const w = wf();
    const { test, check } = w.jobs;
    assert.ok(test && check, "jobs test and check");
    const [t] = instances(w, test);
    findStep(t.steps, "running npm test", runs(/^npm test\b/m));
    findStep(t.steps, "installing redis-sentinel", runs(/apt-get install[^\n]*redis-sentinel/));
    assert.deepEqual(stacksOfMatrix(check), repoStacks());
    for (const { matrix, steps } of instances(w, check)) {
      findStep(steps, `checking ${String(matrix.stack)}`, runs(new RegExp(`^npm run check -- --stack ${String(matrix.stack)}\\s*$`, "m")));
    }
  });

  it("deploys exactly the repository's stacks, in the order dev -> staging -> prod", () => {
    const jobs = deployJobs(wf());
    assert.deepEqual(sorted(jobs.keys()), repoStacks());
    const order = PROMOTION_ORDER.filter((s) => jobs.has(s));
    assert.deepEqual(order, PROMOTION_ORDER, "dev, staging and prod are all deployed");
    const first = jobs.get("dev");
    assert.ok(first);
    assert.deepEqual(sorted(needsOf(first.job)), ["check", "test"], "dev waits for the gates");
    for (let i = 1; i < order.length; i++) {
      const prev = jobs.get(order[i - 1]);
      const cur = jobs.get(order[i]);
      assert.ok(prev && cur);
      assert.deepEqual(needsOf(cur.job), [prev.id], `${order[i]} needs ${order[i - 1]}`);
    }
  });

  it("binds every deploy job to its environment, a per-stack concurrency group and its policy config", () => {
    const w = wf();
    const groups = new Set<string>();
    for (const [stack, { id, job }] of deployJobs(w)) {
      assert.equal(environmentName(job), stack, id);
      const c = concurrencyOf(job.concurrency);
      assert.ok(c, `${id} has a concurrency group`);
      assert.ok(c.group.includes(stack), `${id}: group ${c.group} names ${stack}`);
      assert.equal(c["cancel-in-progress"], false, `${id}: a running deploy is never cancelled`);
      groups.add(c.group);

      const [inst] = instances(w, job);
      const up = findStep(inst.steps, `running pulumi up for ${stack}`, (s) => isPulumiAction(s.step));
      assert.equal(up.step.uses, "pulumi/actions@v6");
      assert.equal(up.with.command, "up");
      assert.equal(up.with.policyPacks, "policy");
      assert.equal(up.with.policyPackConfigs, `policy/config/${stack}.json`);
      assert.ok(up.with["stack-name"].includes(stack), `${id}: stack-name ${up.with["stack-name"]}`);
      const ci = findStep(inst.steps, "running npm ci", runs(/^npm ci\b/m));
      assert.ok(ci.index < up.index);
      const kube = findStep(inst.steps, "writing the kubeconfig", runs(/KUBECONFIG=/));
      assert.equal(kube.step.env?.KUBECONFIG_DATA, `\${{ secrets.KUBECONFIG_${stack.toUpperCase()} }}`);

      const outputs = findStep(inst.steps, "exporting stack outputs", runs(/pulumi stack output --json/));
      assert.ok(outputs.index > up.index);
      assert.match(outputs.run, /GITHUB_STEP_SUMMARY/);
      const commands = outputs.run.split("\n").filter((l) => !l.trim().startsWith("#"));
      assert.ok(commands.every((l) => !l.includes("--show-secrets")), `${id} must not reveal secret outputs`);
    }
    assert.equal(groups.size, PROMOTION_ORDER.length, "one concurrency group per stack");
  });
});

// ---------------------------------------------------------------------------
// Cross-checks with the repository
// ---------------------------------------------------------------------------

describe("GitHub workflows: repository consistency", () => {
  it("the repository defines the stacks dev, staging and prod", () => {
    assert.deepEqual(repoStacks(), sorted(PROMOTION_ORDER));
  });

  it("every stack has the policy config that the workflows pass to the policy pack", () => {
    for (const stack of repoStacks()) {
      assert.ok(fs.existsSync(path.join(repoRoot, "policy", "config", `${stack}.json`)), `policy/config/${stack}.json`);
    }
  });

  it("docs/ci.md names every secret and variable the workflows read", () => {
    const docs = fs.readFileSync(docsFile, "utf8");
    const names = new Set<string>();
    for (const file of workflowFiles()) {
      const text = fs.readFileSync(path.join(workflowsDir, file), "utf8");
      for (const m of text.matchAll(/\b(?:secrets|vars)\.([A-Z][A-Z0-9_]*)/g)) names.add(m[1]);
      for (const m of text.matchAll(/kubeconfig_secret:\s*([A-Z][A-Z0-9_]*)/g)) names.add(m[1]);
    }
    assert.ok(names.size > 0);
    for (const name of names) assert.ok(docs.includes(`\`${name}\``), `docs/ci.md should mention \`${name}\``);
  });
});
