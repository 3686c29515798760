import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { DEBIAN_PACKAGES } from "../../harness/loopback/prerequisites";
import { PARSERS, npmRuns } from "../support/npmRuns";
import {
    repoRoot,
    workflowsDir,
    SPAWN_TIMEOUT_MS,
    type Job,
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

// ---------------------------------------------------------------------------
// Invariants: what must hold of every workflow, whatever its layout
// ---------------------------------------------------------------------------

interface JobInstance {
    file: string;
    jobId: string;
    job: Job;
    /** The stack this instance works on: its matrix's, else the input its caller passes. */
    stack?: string;
    inst: ReturnType<typeof instances>[number];
}

/** The local jobs that call `file` (a reusable workflow), with the inputs each passes. */
function callersOf(file: string): Array<{ file: string; jobId: string; job: Job }> {
    return workflowFiles().flatMap((caller) =>
        Object.entries(loadWorkflow(caller).jobs)
            .filter(([, job]) => calledWorkflow(job) === file)
            .map(([jobId, job]) => ({ file: caller, jobId, job })),
    );
}

/** Every job of every workflow, once per matrix entry and, in a reusable workflow, once per caller. */
function jobInstances(): JobInstance[] {
    const out: JobInstance[] = [];
    for (const file of workflowFiles()) {
        const w = loadWorkflow(file);
        const callers = workflowCallOf(w) ? callersOf(file).map((c) => callInputs(c.job)) : [{}];
        for (const [jobId, job] of Object.entries(w.jobs)) {
            if (job.uses !== undefined) continue;
            for (const inputs of callers) {
                for (const inst of instances(w, job, inputs)) {
                    const stack = inst.matrix.stack ?? inputs.stack;
                    out.push({ file, jobId, job, stack: stack === undefined ? undefined : String(stack), inst });
                }
            }
        }
    }
    return out;
}

/** The jobs that deploy (run pulumi up), by the stack they deploy. */
function deployJobs(): Map<string, JobInstance> {
    const byStack = new Map<string, JobInstance>();
    for (const j of jobInstances()) {
        if (!j.inst.steps.some((s) => isPulumiAction(s.step) && s.with.command === "up")) continue;
        assert.ok(j.stack, `${j.file}: ${j.jobId} runs pulumi up on no stack of its matrix or inputs`);
        assert.ok(!byStack.has(j.stack), `two jobs deploy ${j.stack}`);
        byStack.set(j.stack, j);
    }
    return byStack;
}

/** The caller job (in deploy.yml or elsewhere) through which a reusable workflow's job runs, if any. */
function entryJob(j: JobInstance): { file: string; jobId: string; job: Job } {
    if (!workflowCallOf(loadWorkflow(j.file))) return { file: j.file, jobId: j.jobId, job: j.job };
    const caller = callersOf(j.file).find((c) => String(c.job.with?.stack) === j.stack);
    assert.ok(caller, `${j.file}: no caller passes stack ${j.stack}`);
    return caller;
}

describe("GitHub workflows: invariants", () => {
    it("every Pulumi run passes the policy pack and the policy config of its own stack, after installing the pack's dependencies", () => {
        let pulumiRuns = 0;
        for (const { file, jobId, stack, inst } of jobInstances()) {
            // pulumi/actions without a command only installs the CLI.
            for (const s of inst.steps.filter((x) => isPulumiAction(x.step) && x.with.command !== undefined)) {
                const where = `${file}: ${jobId} (${stack}) / ${stepLabel(s.step)}`;
                assert.ok(["preview", "up"].includes(s.with.command), `${where}: pulumi ${s.with.command}`);
                assert.ok(stack, `${where}: no stack`);
                assert.equal(s.with.policyPacks, "policy", where);
                assert.equal(s.with.policyPackConfigs, `policy/config/${stack}.json`, where);
                assert.ok(fs.existsSync(path.join(repoRoot, "policy", "config", `${stack}.json`)), `${where}: policy/config/${stack}.json`);
                const ci = findStep(inst.steps, `npm ci before ${where}`, runs(/^npm ci\b/m));
                assert.ok(ci.index < s.index && /npm ci [^\n]*--prefix policy/.test(ci.run), `${where}: npm ci (and the pack's) first`);
                pulumiRuns++;
            }
        }
        assert.ok(pulumiRuns >= 2 * PROMOTION_ORDER.length, `a preview and a deploy of every promoted stack (found ${pulumiRuns})`);
    });

    it("every deploy is bound to its stack's environment and to a group of its own that never cancels a running deploy", () => {
        const groups = new Set<string>();
        for (const [stack, { file, jobId, job, inst }] of deployJobs()) {
            const inputs = { stack, ...callInputs(entryJob({ file, jobId, job, stack, inst }).job) };
            assert.equal(resolve(environmentName(job) ?? "", inst.matrix, {}, inputs), stack, `${file}: ${jobId}: environment`);
            const c = concurrencyOf(job.concurrency);
            assert.ok(c, `${file}: ${jobId} has a concurrency group`);
            assert.equal(c["cancel-in-progress"], false, `${file}: ${jobId}: a running deploy is never cancelled`);
            groups.add(resolve(c.group, inst.matrix, {}, inputs));
        }
        assert.equal(groups.size, deployJobs().size, "one concurrency group per stack");
    });

    it("deploys are promoted dev -> staging -> prod, the first after jobs that run npm test and check every promoted stack", () => {
        const deploys = deployJobs();
        assert.deepEqual(sorted(deploys.keys()), sorted(PROMOTION_ORDER), "exactly the promoted stacks are deployed");
        const entries = PROMOTION_ORDER.map((stack) => entryJob(deploys.get(stack)!));
        for (let i = 1; i < entries.length; i++) {
            assert.equal(entries[i].file, entries[0].file, "one workflow promotes");
            assert.deepEqual(needsOf(entries[i].job), [entries[i - 1].jobId], `${PROMOTION_ORDER[i]} waits for ${PROMOTION_ORDER[i - 1]}`);
        }
        const gates = jobInstances().filter((j) => j.file === entries[0].file && needsOf(entries[0].job).includes(j.jobId));
        assert.ok(
            gates.some((g) => g.inst.steps.some((s) => /^(sudo\b[^\n]*)?npm test\b/m.test(s.run))),
            "the first deploy waits for npm test",
        );
        const checked = new Set(
            gates.flatMap((g) => g.inst.steps.flatMap((s) => [...s.run.matchAll(/npm run check -- --stack (\S+)/g)].map((m) => m[1]))),
        );
        for (const stack of PROMOTION_ORDER) assert.ok(checked.has(stack), `the first deploy waits for npm run check -- --stack ${stack}`);
    });

    it("every job that runs npm test installs the loopback packages and builds both Amalgam8 variants first, on an allowed Node", () => {
        const engines: string = JSON.parse(fs.readFileSync(path.join(repoRoot, "package.json"), "utf8")).engines.node;
        const minimumMajor = Number(/>=\s*(\d+)/.exec(engines)?.[1]);
        const testJobs = jobInstances().filter((j) => j.inst.steps.some((s) => /^sudo\b[^\n]*\bnpm test\b/m.test(s.run)));
        assert.ok(testJobs.length >= 2, "the pull-request and the deploy workflows run npm test");
        for (const { inst } of testJobs) assertTestJobBuildsAmalgam8(inst.steps);
        for (const { file, jobId, inst } of jobInstances()) {
            for (const s of inst.steps.filter((x) => /^actions\/setup-node@/.test(x.step.uses ?? ""))) {
                assert.ok(
                    Number(s.with["node-version"]) >= minimumMajor,
                    `${file}: ${jobId}: Node ${s.with["node-version"]} (engines: ${engines})`,
                );
            }
        }
    });

    it("every npm run in the workflows and the scripts they run is a script of package.json, with flags its parser accepts", () => {
        const scripts: Record<string, string> = JSON.parse(fs.readFileSync(path.join(repoRoot, "package.json"), "utf8")).scripts;
        const texts = [
            ...workflowFiles().map((f) => ({ file: f, text: fs.readFileSync(path.join(workflowsDir, f), "utf8") })),
            ...fs
                .readdirSync(path.join(repoRoot, "tools", "e2e"))
                .filter((f) => f.endsWith(".sh"))
                .map((f) => ({
                    file: `tools/e2e/${f}`,
                    text: fs.readFileSync(path.join(repoRoot, "tools", "e2e", f), "utf8"),
                })),
        ];
        const parsed = new Set<string>();
        for (const { file, text } of texts) {
            // A shell variable or an expression stands for one word (a number: every flag's value may be one);
            // comments and messages run no command.
            const code = text
                .split("\n")
                .filter((l) => !/^\s*(#|echo\b)/.test(l))
                .map((l) => l.replace(/\$\{\{[^}]*\}\}|"?\$\{?\w+\}?[^\s"]*"?/g, "1"))
                .map((l) => `\`${l.replace(/`/g, "")}\``)
                .join("\n");
            for (const r of npmRuns(code)) {
                assert.ok(r.script in scripts, `${file}: "${r.text}": package.json has no script ${r.script}`);
                const parse = PARSERS[r.script];
                if (r.args.length === 0 || !parse) continue;
                assert.doesNotThrow(() => parse(r.args), `${file}: "${r.text}"`);
                parsed.add(r.script);
            }
        }
        assert.deepEqual(sorted(parsed), ["check", "smoke"], "the workflows run check and smoke with flags");
    });

    it("no step reveals a secret: no --show-secrets, and a kubeconfig written from a secret is private and always removed", () => {
        let kubeconfigs = 0;
        for (const file of workflowFiles()) {
            for (const [jobId, job] of Object.entries(loadWorkflow(file).jobs)) {
                const steps = job.steps ?? [];
                for (const step of steps) {
                    const commands = (step.run ?? "").split("\n").filter((l) => !l.trim().startsWith("#"));
                    assert.ok(!commands.some((l) => l.includes("--show-secrets")), `${file}: ${jobId} / ${stepLabel(step)}`);
                    const fromSecret = Object.values(step.env ?? {}).some((v) => /\bsecrets\[/.test(String(v)));
                    if (!/KUBECONFIG=/.test(step.run ?? "") || !fromSecret) continue;
                    kubeconfigs++;
                    assert.match(step.run ?? "", /umask 077/, `${file}: ${jobId}: the kubeconfig is written private`);
                    const cleanup = steps.findIndex(
                        (s) => /rm -f "\$RUNNER_TEMP\/kubeconfig"/.test(s.run ?? "") && /always\(\)/.test(s.if ?? ""),
                    );
                    assert.ok(cleanup > steps.indexOf(step), `${file}: ${jobId}: the kubeconfig is removed in an always() step`);
                }
            }
        }
        assert.ok(kubeconfigs >= 2, "the preview and the deploy write kubeconfigs from secrets");
    });

    it("skips the preview with a notice when the Pulumi or kubeconfig secrets are absent (pull requests from forks)", () => {
        const job = loadWorkflow("pr.yml").jobs.preview;
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
// Cross-checks with the repository
// ---------------------------------------------------------------------------

describe("GitHub workflows: repository consistency", () => {
    it("every stack a workflow matrix or call names has its stack file, and the promoted ones are all there", () => {
        assertCoversPromotedStacks(repoStacks(), "the repository");
        for (const { file, jobId, stack } of jobInstances()) {
            if (stack !== undefined)
                assert.ok(repoStacks().includes(stack), `${file}: ${jobId} names ${stack}, which has no Pulumi.${stack}.yaml`);
        }
    });

    it("every local reusable workflow a job calls exists, is callable, gets its required (and only declared) inputs and secrets", () => {
        let calls = 0;
        for (const file of workflowFiles()) {
            for (const [id, job] of Object.entries(loadWorkflow(file).jobs)) {
                if (job.uses === undefined || !job.uses.startsWith("./")) continue;
                const called = calledWorkflow(job);
                assert.ok(called, `${file}: ${id} uses ${job.uses}, not a file of .github/workflows`);
                assert.ok(workflowFiles().includes(called), `${file}: ${id} calls ${called}, which does not exist`);
                const call = workflowCallOf(loadWorkflow(called));
                assert.ok(call, `${called} has no on.workflow_call`);
                const passed = Object.keys(job.with ?? {});
                for (const [k, input] of Object.entries(call.inputs)) {
                    if (input.required === true) assert.ok(passed.includes(k), `${file}: ${id} passes ${k}`);
                }
                for (const k of passed) assert.ok(k in call.inputs, `${file}: ${id} passes ${k}, which ${called} does not declare`);
                // Without inherit, GitHub does not resolve the environment's secrets in the called workflow.
                assert.equal(job.secrets, "inherit", `${file}: ${id}: secrets: inherit`);
                calls++;
            }
        }
        assert.ok(calls > 0, "deploy.yml calls deploy-stack.yml");
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
