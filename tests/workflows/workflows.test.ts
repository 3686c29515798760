import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { DEBIAN_PACKAGES } from "../../tools/loopback/prerequisites";
import {
    repoRoot,
    workflowsDir,
    SPAWN_TIMEOUT_MS,
    type Job,
    type Workflow,
    isDict,
    workflowFiles,
    loadWorkflow,
    needsOf,
    stepsOf,
    stepLabel,
    concurrencyOf,
    environmentName,
    repoStacks,
    sorted,
    type Combo,
    stacksOfMatrix,
    resolve,
    instances,
    findStep,
    type ResolvedStep,
    runs,
    escapeRe,
    isPulumiAction,
    allSteps,
    allConditions,
    DEPLOY_STACK,
    type CallInput,
    calledWorkflow,
    workflowCallOf,
    callInputs,
    type FlatError,
    lint,
    runCli,
} from "./helpers";

const brokenFixture = path.join(__dirname, "..", "fixtures", "workflows", "broken.yml");
const docsFile = path.join(repoRoot, "docs", "ci.md");
/** The stacks deploy.yml promotes, in order. Other stack files (a developer's, a test stack) may exist. */
const PROMOTION_ORDER = ["dev", "staging", "prod"];

/** A CI matrix covers every promoted stack, and only stacks that exist: adding a stack file fails no test. */
function assertCoversPromotedStacks(stacks: string[], what: string): void {
    for (const stack of PROMOTION_ORDER) assert.ok(stacks.includes(stack), `${what} covers ${stack}`);
    for (const stack of stacks) assert.ok(repoStacks().includes(stack), `${what} names ${stack}, which has no Pulumi.${stack}.yaml`);
}

/**
 * A test job runs the system tests for real: Go and bubblewrap installed, the Amalgam8 source
 * checked out at the release tag, both variants built from it after npm ci, npm test as root.
 */
function assertTestJobBuildsAmalgam8(steps: ResolvedStep[]): void {
    const apt = findStep(steps, "installing the packages", runs(/apt-get install[^\n]*redis-server/));
    // The one list of what the loopback tests run, which .ci/run installs too.
    for (const pkg of new Set(Object.values(DEBIAN_PACKAGES))) assert.match(apt.run, new RegExp(`\\b${pkg}\\b`), `installs ${pkg}`);
    const source = findStep(
        steps,
        "checking out amalgam8/amalgam8",
        (s) => /^actions\/checkout@/.test(s.step.uses ?? "") && s.with.repository === "amalgam8/amalgam8",
    );
    assert.equal(source.with.ref, "v1.1.0", "the source of the release the images were built from");
    assert.ok(source.with.path, "the source goes to its own path, beside the project");
    const dir = escapeRe(source.with.path);
    const ci = findStep(steps, "running npm ci", runs(/^npm ci\b/m));
    const upstream = findStep(steps, "building the upstream variant", runs(new RegExp(`^npm run build:amalgam8 -- ${dir}\\s*$`, "m")));
    const patched = findStep(
        steps,
        "building the patched variant",
        runs(new RegExp(`^npm run build:amalgam8 -- ${dir} --patches images/amalgam8/patches\\s*$`, "m")),
    );
    const test = findStep(steps, "running npm test as root", runs(/^sudo\b[^\n]*\bnpm test\b/m));
    for (const build of [upstream, patched]) assert.ok(source.index < build.index && ci.index < build.index && build.index < test.index);
    assert.ok(apt.index < test.index);
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

    it("accepts reusable workflows and their callers, and rejects them once they break the schema", () => {
        const called = fs.readFileSync(path.join(workflowsDir, DEPLOY_STACK), "utf8");
        const caller = fs.readFileSync(path.join(workflowsDir, "deploy.yml"), "utf8");
        assert.deepEqual(lint(called), [], `${DEPLOY_STACK} itself must be valid for this test to mean anything`);
        assert.deepEqual(lint(caller), [], "deploy.yml itself must be valid for this test to mean anything");

        const badType = YAML.parseDocument(called);
        badType.setIn(["on", "workflow_call", "inputs", "stack", "type"], "text");
        assert.ok(
            lint(badType.toString()).some((e) => e.path === "/on/workflow_call/inputs/stack/type"),
            "input type text",
        );

        const runnerOnCaller = YAML.parseDocument(caller);
        runnerOnCaller.setIn(["jobs", "deploy-dev", "runs-on"], "ubuntu-latest");
        assert.ok(
            lint(runnerOnCaller.toString()).some((e) => e.path === "/jobs/deploy-dev" && /'runs-on'/.test(e.detail)),
            "a job that calls a reusable workflow cannot also set runs-on",
        );

        const badSecrets = YAML.parseDocument(caller);
        badSecrets.setIn(["jobs", "deploy-prod", "secrets"], "inherited");
        assert.ok(
            lint(badSecrets.toString()).some((e) => e.path === "/jobs/deploy-prod/secrets"),
            "secrets: inherited",
        );

        const badNeeds = YAML.parseDocument(caller);
        badNeeds.setIn(["jobs", "deploy-prod", "needs"], "deploy-qa");
        assert.ok(lint(badNeeds.toString()).some((e) => e.code === "unresolved_job" && /deploy-qa/.test(e.detail)));
    });

    it("finds pr.yml, deploy.yml and deploy-stack.yml in .github/workflows", () => {
        const files = workflowFiles();
        for (const f of ["pr.yml", "deploy.yml", DEPLOY_STACK]) {
            assert.ok(files.includes(f), `workflows found: ${files.join(", ")}`);
        }
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

            it("keeps workflow permissions read-only and grants writes only to pull-requests (packages: images.yml's publish job)", () => {
                const wf = loadWorkflow(file);
                assert.ok(isDict(wf.permissions), "top-level permissions must be an explicit mapping");
                assert.ok(
                    Object.values(wf.permissions).every((v) => v !== "write"),
                    "top-level permissions must not write",
                );
                for (const [id, job] of Object.entries(wf.jobs)) {
                    assert.notEqual(job.permissions, "write-all", id);
                    if (!isDict(job.permissions)) continue;
                    for (const [scope, level] of Object.entries(job.permissions)) {
                        if (level !== "write") continue;
                        if (file === "images.yml" && id === "publish" && scope === "packages") continue;
                        assert.equal(scope, "pull-requests", `${id} writes ${scope}`);
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
                const AsyncFunction = Object.getPrototypeOf(async () => undefined).constructor as new (...args: string[]) => unknown;
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

describe("GitHub workflows: pr.yml", () => {
    const wf = (): Workflow => loadWorkflow("pr.yml");

    it("runs on pull_request and cancels superseded runs of the same pull request", () => {
        const w = wf();
        assert.ok(isDict(w.on) && "pull_request" in w.on, "on: pull_request");
        const c = concurrencyOf(w.concurrency);
        assert.ok(c, "workflow concurrency");
        assert.match(c.group, /github\.event\.pull_request\.number/);
        assert.equal(c["cancel-in-progress"], true);
    });

    it("job test installs redis, haproxy, Go and bubblewrap, builds Amalgam8 from its v1.1.0 source, then runs npm test on Node 20", () => {
        const job = wf().jobs.test;
        assert.ok(job, "job test");
        const [inst] = instances(wf(), job);
        const apt = findStep(inst.steps, "installing the servers", runs(/apt-get install[^\n]*redis-server/));
        for (const pkg of ["redis-server", "redis-sentinel", "haproxy"]) assert.match(apt.run, new RegExp(`\\b${pkg}\\b`));
        const node = findStep(inst.steps, "setting up node", (s) => /^actions\/setup-node@/.test(s.step.uses ?? ""));
        assert.equal(node.with["node-version"], "20");
        assert.equal(node.with.cache, "npm");
        const ci = findStep(inst.steps, "running npm ci", runs(/^npm ci\b/m));
        assert.ok(apt.index < ci.index && node.index < ci.index);
        assertTestJobBuildsAmalgam8(inst.steps);
    });

    it("job check gates, renders head and base, diffs, uploads and comments for every stack", () => {
        const w = wf();
        const job = w.jobs.check;
        assert.ok(job, "job check");
        assert.ok(isDict(job.permissions) && job.permissions["pull-requests"] === "write", "pull-requests: write");
        assertCoversPromotedStacks(stacksOfMatrix(job), "pr.yml check");
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
                (s) => /^actions\/checkout@/.test(s.step.uses ?? "") && /github\.event\.pull_request\.base\.sha/.test(s.with.ref ?? ""),
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
                assert.ok(
                    upload.with.path
                        .split("\n")
                        .map((l) => l.trim())
                        .includes(p),
                    `artifact holds ${p}`,
                );
            }
            const comment = findStep(steps, "posting the comment", (s) => /^actions\/github-script@/.test(s.step.uses ?? ""));
            const script = comment.with.script;
            assert.match(script, /<!-- a8-manifest-diff:\$\{stack\} -->/, "per-stack marker");
            for (const api of ["listComments", "updateComment", "createComment"]) assert.ok(script.includes(api), api);
            assert.match(script, /truncated/i);
            const order = [ci, gate, head, baseCheckout, base, diff, upload, comment].map((s) => s.index);
            assert.deepEqual(
                order,
                [...order].sort((a, b) => a - b),
                "steps run in order",
            );
        }
    });

    it("job preview runs after test and check, with the policy pack and its per-stack config", () => {
        const w = wf();
        const job = w.jobs.preview;
        assert.ok(job, "job preview");
        assert.deepEqual(sorted(needsOf(job)), ["check", "test"]);
        assert.ok(isDict(job.permissions) && job.permissions["pull-requests"] === "write", "pull-requests: write");
        assertCoversPromotedStacks(stacksOfMatrix(job), "pr.yml preview");
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
        const env = Object.values(gate.env ?? {})
            .map(String)
            .join("\n");
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
// deploy.yml: the gates, then one call of deploy-stack.yml per stack
// ---------------------------------------------------------------------------

interface DeployCall {
    id: string;
    job: Job;
    stack: string;
}

/** deploy.yml's calls of deploy-stack.yml, keyed by the stack they pass. */
function deployCalls(w: Workflow): Map<string, DeployCall> {
    const byStack = new Map<string, DeployCall>();
    for (const [id, job] of Object.entries(w.jobs)) {
        if (calledWorkflow(job) !== DEPLOY_STACK) continue;
        const stack = job.with?.stack;
        assert.ok(typeof stack === "string" && stack !== "", `${id} passes the input stack`);
        assert.ok(!byStack.has(stack), `two deploy jobs for ${stack}`);
        byStack.set(stack, { id, job, stack });
    }
    return byStack;
}

describe("GitHub workflows: deploy.yml", () => {
    const wf = (): Workflow => loadWorkflow("deploy.yml");

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
        assertTestJobBuildsAmalgam8(t.steps);
        assertCoversPromotedStacks(stacksOfMatrix(check), "deploy.yml check");
        for (const { matrix, steps } of instances(w, check)) {
            findStep(
                steps,
                `checking ${String(matrix.stack)}`,
                runs(new RegExp(`^npm run check -- --stack ${String(matrix.stack)}\\s*$`, "m")),
            );
        }
    });

    it("deploys through deploy-stack.yml only: no job of deploy.yml runs Pulumi itself", () => {
        for (const { jobId, step } of allSteps(wf())) {
            assert.ok(!isPulumiAction(step) && !/\bpulumi\s+(up|stack)\b/.test(step.run ?? ""), `${jobId} / ${stepLabel(step)}`);
        }
        for (const [id, job] of Object.entries(wf().jobs)) {
            if (job.uses !== undefined) assert.equal(calledWorkflow(job), DEPLOY_STACK, `${id} calls ${job.uses}`);
        }
    });

    it("calls deploy-stack.yml once per promoted stack, chained dev -> staging -> prod after the gates", () => {
        const calls = deployCalls(wf());
        assert.deepEqual(sorted(calls.keys()), sorted(PROMOTION_ORDER), "exactly the promoted stacks");
        const order = PROMOTION_ORDER.filter((s) => calls.has(s));
        assert.deepEqual(order, PROMOTION_ORDER, "dev, staging and prod are all deployed");
        const first = calls.get("dev");
        assert.ok(first);
        assert.deepEqual(sorted(needsOf(first.job)), ["check", "test"], "dev waits for the gates");
        for (let i = 1; i < order.length; i++) {
            const prev = calls.get(order[i - 1]);
            const cur = calls.get(order[i]);
            assert.ok(prev && cur);
            assert.deepEqual(needsOf(cur.job), [prev.id], `${order[i]} needs ${order[i - 1]}`);
        }
    });

    it("passes each call its stack, that stack's kubeconfig secret name and secrets: inherit", () => {
        for (const [stack, { id, job }] of deployCalls(wf())) {
            assert.equal(job.uses, `./.github/workflows/${DEPLOY_STACK}`, id);
            assert.equal(job.with?.stack, stack, id);
            assert.equal(job.with?.kubeconfig_secret, `KUBECONFIG_${stack.toUpperCase()}`, id);
            // Without inherit, GitHub does not resolve the environment's secrets in the called workflow.
            assert.equal(job.secrets, "inherit", `${id}: secrets: inherit`);
            assert.ok(job.name?.includes(stack), `${id}: name ${String(job.name)} names ${stack}`);
        }
    });

    it("passes every required input of deploy-stack.yml, each one declared there", () => {
        const call = workflowCallOf(loadWorkflow(DEPLOY_STACK));
        assert.ok(call, `${DEPLOY_STACK} has on.workflow_call`);
        const required = sorted(
            Object.entries(call.inputs)
                .filter(([, i]) => i.required === true)
                .map(([k]) => k),
        );
        for (const { id, job } of deployCalls(wf()).values()) {
            const passed = Object.keys(job.with ?? {});
            for (const k of required) assert.ok(passed.includes(k), `${id} passes ${k}`);
            for (const k of passed) assert.ok(k in call.inputs, `${id} passes ${k}, which ${DEPLOY_STACK} does not declare`);
        }
    });
});

// ---------------------------------------------------------------------------
// deploy-stack.yml: the reusable per-stack deploy
// ---------------------------------------------------------------------------

describe("GitHub workflows: deploy-stack.yml", () => {
    const wf = (): Workflow => loadWorkflow(DEPLOY_STACK);

    /** The job that runs `pulumi up` (there must be exactly one). */
    function deployJob(w: Workflow): { id: string; job: Job } {
        const found = Object.entries(w.jobs).filter(([, job]) =>
            (job.steps ?? []).some((s) => isPulumiAction(s) && s.with?.command === "up"),
        );
        assert.equal(found.length, 1, `jobs running pulumi up: ${found.map(([id]) => id).join(", ")}`);
        const [[id, job]] = found;
        return { id, job };
    }

    /** The deploy job as instantiated by each caller in deploy.yml. */
    function perStack(): Array<{ stack: string; inputs: Combo; inst: ReturnType<typeof instances>[number] }> {
        const w = wf();
        const { job } = deployJob(w);
        return [...deployCalls(loadWorkflow("deploy.yml")).values()].map(({ stack, job: caller }) => {
            const inputs = callInputs(caller);
            const [inst] = instances(w, job, inputs);
            return { stack, inputs, inst };
        });
    }

    it("can only be called (on: workflow_call) and takes the required string inputs stack and kubeconfig_secret", () => {
        const w = wf();
        assert.ok(isDict(w.on), "on must be a mapping");
        assert.deepEqual(Object.keys(w.on), ["workflow_call"], "no trigger of its own");
        const call = workflowCallOf(w);
        assert.ok(call);
        for (const name of ["stack", "kubeconfig_secret"]) {
            const input: CallInput | undefined = call.inputs[name];
            assert.ok(input, `input ${name}`);
            assert.equal(input.required, true, `${name} is required`);
            assert.equal(input.type, "string", `${name} is a string`);
        }
    });

    it("binds its job to the environment of the stack input and to deploy-<stack> without cancel-in-progress", () => {
        const { id, job } = deployJob(wf());
        assert.equal(environmentName(job), "${{ inputs.stack }}", `${id}: environment`);
        const c = concurrencyOf(job.concurrency);
        assert.ok(c, `${id} has a concurrency group`);
        assert.equal(c.group, "deploy-${{ inputs.stack }}", `${id}: concurrency group`);
        assert.equal(c["cancel-in-progress"], false, `${id}: a running deploy is never cancelled`);
        assert.equal(concurrencyOf(wf().concurrency), undefined, "no workflow-level concurrency (it would use the caller's name)");

        const groups = new Set<string>();
        for (const { stack, inputs } of perStack()) {
            assert.equal(resolve(environmentName(job) ?? "", {}, {}, inputs), stack);
            groups.add(resolve(c.group, {}, {}, inputs));
        }
        assert.deepEqual(sorted(groups), sorted(PROMOTION_ORDER.map((s) => `deploy-${s}`)), "one group per stack");
    });

    it("runs pulumi up with the policy pack and policy/config/<stack input>.json", () => {
        const { job } = deployJob(wf());
        const up = (job.steps ?? []).find((s) => isPulumiAction(s));
        assert.ok(up?.with);
        assert.equal(up.uses, "pulumi/actions@v6");
        assert.equal(up.with.command, "up");
        assert.equal(up.with.policyPacks, "policy");
        assert.equal(up.with.policyPackConfigs, "policy/config/${{ inputs.stack }}.json");
        for (const { stack, inst } of perStack()) {
            const step = findStep(inst.steps, `running pulumi up for ${stack}`, (s) => isPulumiAction(s.step));
            assert.equal(step.with.policyPackConfigs, `policy/config/${stack}.json`);
            assert.equal(step.with.message, `Deploy \${{ github.sha }} to ${stack}`);
            assert.equal(inst.env.STACK, stack);
            const ci = findStep(inst.steps, "running npm ci", runs(/^npm ci\b/m));
            assert.ok(ci.index < step.index, "npm ci runs before pulumi up");
            assert.match(ci.run, /npm ci [^\n]*--prefix policy/, "the policy pack's dependencies are installed");
        }
    });

    it("addresses the stack as <PULUMI_ORG>/<stack> when the variable is set, else by its bare name", () => {
        for (const { stack, inst } of perStack()) {
            const up = findStep(inst.steps, "running pulumi up", (s) => isPulumiAction(s.step));
            const name = up.with["stack-name"];
            assert.match(name, /vars\.PULUMI_ORG != ''/, name);
            assert.match(name, /format\('\{0\}\/\{1\}', vars\.PULUMI_ORG, inputs\.stack\)/, name);
            assert.match(name, /\|\| inputs\.stack \}\}$/, name);
            const outputs = findStep(inst.steps, "exporting stack outputs", runs(/pulumi stack output --json/));
            assert.match(outputs.step.run ?? "", /--stack "\$STACK_NAME"/, `${stack}: outputs of the same stack`);
        }
    });

    it("writes the kubeconfig named by the caller, failing when it or the backend secrets are missing", () => {
        const { job } = deployJob(wf());
        const kube = (job.steps ?? []).find((s) => /KUBECONFIG=/.test(s.run ?? ""));
        assert.ok(kube?.env, "a step writes the kubeconfig");
        assert.equal(kube.env.KUBECONFIG_DATA, "${{ secrets[inputs.kubeconfig_secret] }}");
        assert.equal(kube.env.HAS_PULUMI_TOKEN, "${{ secrets.PULUMI_ACCESS_TOKEN != '' }}");
        assert.equal(kube.env.HAS_BACKEND_URL, "${{ secrets.PULUMI_BACKEND_URL != '' }}");
        const run = kube.run ?? "";
        assert.match(run, /::error[^\n]*PULUMI_ACCESS_TOKEN nor PULUMI_BACKEND_URL/);
        assert.match(run, /if \[ -z "\$KUBECONFIG_DATA" \]; then\n\s*echo "::error[^\n]*\n\s*exit 1/);
        assert.match(run, /umask 077/);
        const steps = job.steps ?? [];
        const cleanup = steps.find((s) => /rm -f "\$RUNNER_TEMP\/kubeconfig"/.test(s.run ?? ""));
        assert.ok(cleanup, "the kubeconfig is removed");
        assert.match(cleanup.if ?? "", /always\(\)/, "even when the deploy fails");
        assert.ok(steps.indexOf(cleanup) === steps.length - 1, "as the last step");
        for (const { stack, inst } of perStack()) {
            const step = findStep(inst.steps, "writing the kubeconfig", runs(/KUBECONFIG=/));
            assert.equal(step.step.env?.KUBECONFIG_SECRET, "${{ inputs.kubeconfig_secret }}");
            assert.match(step.run, new RegExp(`Secret KUBECONFIG_${stack.toUpperCase()} is not set`), stack);
        }
    });

    it("writes the stack outputs into the job summary after the deploy, without revealing secrets", () => {
        for (const { stack, inst } of perStack()) {
            const up = findStep(inst.steps, "running pulumi up", (s) => isPulumiAction(s.step));
            const outputs = findStep(inst.steps, "exporting stack outputs", runs(/pulumi stack output --json/));
            assert.ok(outputs.index > up.index, `${stack}: outputs after pulumi up`);
            assert.match(outputs.run, /GITHUB_STEP_SUMMARY/);
            assert.match(outputs.run, /_secret, not shown_/);
            const commands = outputs.run.split("\n").filter((l) => !l.trim().startsWith("#"));
            assert.ok(
                commands.every((l) => !l.includes("--show-secrets")),
                `${stack} must not reveal secret outputs`,
            );
            for (const v of ["PULUMI_ACCESS_TOKEN", "PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE"]) {
                assert.equal(outputs.step.env?.[v], `\${{ secrets.${v} }}`, `${stack}: outputs step gets ${v}`);
                assert.equal(up.step.env?.[v], `\${{ secrets.${v} }}`, `${stack}: pulumi up gets ${v}`);
            }
        }
    });
});

// ---------------------------------------------------------------------------
// Cross-checks with the repository
// ---------------------------------------------------------------------------

describe("GitHub workflows: repository consistency", () => {
    it("every stack deploy.yml promotes has its stack file", () => {
        assertCoversPromotedStacks(repoStacks(), "the repository");
    });

    it("every local reusable workflow that a job calls exists and is callable", () => {
        let calls = 0;
        for (const file of workflowFiles()) {
            for (const [id, job] of Object.entries(loadWorkflow(file).jobs)) {
                if (job.uses === undefined || !job.uses.startsWith("./")) continue;
                const called = calledWorkflow(job);
                assert.ok(called, `${file}: ${id} uses ${job.uses}, not a file of .github/workflows`);
                assert.ok(workflowFiles().includes(called), `${file}: ${id} calls ${called}, which does not exist`);
                assert.ok(workflowCallOf(loadWorkflow(called)), `${called} has no on.workflow_call`);
                calls++;
            }
        }
        assert.ok(calls > 0, "deploy.yml calls deploy-stack.yml");
    });

    it("every stack the workflows preview or deploy has the policy config they pass to the policy pack", () => {
        const previewed = stacksOfMatrix(loadWorkflow("pr.yml").jobs.preview);
        const deployed = [...deployCalls(loadWorkflow("deploy.yml")).keys()];
        const stacks = new Set([...previewed, ...deployed]);
        assert.ok(stacks.size >= PROMOTION_ORDER.length);
        for (const stack of stacks) {
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
        names.delete("GITHUB_TOKEN"); // GitHub provides it to every run: nothing to create
        assert.ok(names.size > 0);
        for (const name of names) assert.ok(docs.includes(`\`${name}\``), `docs/ci.md should mention \`${name}\``);
    });
});
