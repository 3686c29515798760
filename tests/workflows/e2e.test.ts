import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { KUBERNETES_PATHS } from "../../components/redis/haConfig";
import { check } from "../../cli/check/main";
import { K8sObject } from "../../policy/lib/k8s";
import { type ResolvedStep, type Workflow, SPAWN_TIMEOUT_MS, findStep, instances, isDict, loadWorkflow, repoRoot, runs } from "./helpers";

const E2E = "e2e.yml";
const e2eDir = path.join(repoRoot, "tools", "e2e");
const script = (name: string): string => fs.readFileSync(path.join(e2eDir, name), "utf8");

/** The assignments of tools/e2e/common.sh, which the workflow and the scripts read. */
function settings(): Record<string, string> {
    const vars: Record<string, string> = {};
    for (const m of script("common.sh").matchAll(/^(E2E_\w+)=(\S+)$/gm)) {
        vars[m[1]] = m[2].replace(/\$(\w+)/g, (_, k: string) => vars[k] ?? "");
    }
    return vars;
}

function job(): { wf: Workflow; steps: ResolvedStep[] } {
    const wf = loadWorkflow(E2E);
    const ids = Object.keys(wf.jobs);
    assert.deepEqual(ids, ["kind"], "one job");
    const [inst] = instances(wf, wf.jobs.kind);
    return { wf, steps: inst.steps };
}

const usesAction =
    (name: string) =>
    (s: ResolvedStep): boolean =>
        (s.step.uses ?? "").startsWith(`${name}@`);

describe("GitHub workflows: e2e.yml (kind)", () => {
    it("runs on pull requests, nightly and by hand, and needs no secret", () => {
        const { wf } = job();
        assert.ok(isDict(wf.on), "on: mapping");
        assert.deepEqual(Object.keys(wf.on).sort(), ["pull_request", "schedule", "workflow_dispatch"]);
        const schedule = wf.on.schedule as Array<{ cron: string }>;
        assert.ok(Array.isArray(schedule) && schedule.length === 1 && /^\d+ \d+ \* \* \*$/.test(schedule[0].cron), "one daily cron");
        const text = fs.readFileSync(path.join(repoRoot, ".github", "workflows", E2E), "utf8");
        // A fork's pull request gets no secrets and no variables: the workflow must not read any.
        assert.doesNotMatch(text, /\b(secrets|vars)\s*[.[]|^\s*secrets:/m);
        assert.deepEqual(wf.permissions, { contents: "read" });
    });

    it("creates a kind cluster with three workers from a pinned kind release and node image", () => {
        const { steps } = job();
        const kind = findStep(steps, "creating the kind cluster", usesAction("helm/kind-action"));
        assert.match(kind.step.uses!, /@[0-9a-f]{40}$/, "the action pinned to a commit");
        const pins = findStep(steps, "reading the pins", (s) => s.step.id === "pins");
        assert.match(pins.run, /\. tools\/e2e\/common\.sh/);
        const vars = settings();
        for (const [input, output, variable] of [
            ["version", "kind_version", "E2E_KIND_VERSION"],
            ["node_image", "node_image", "E2E_KIND_NODE_IMAGE"],
            ["config", "kind_config", "E2E_KIND_CONFIG"],
        ]) {
            assert.equal(kind.with[input], `\${{ steps.pins.outputs.${output} }}`, `kind-action input ${input}`);
            assert.match(pins.run, new RegExp(`echo ${output}=\\$${variable}$`, "m"), `pins step writes ${output}`);
        }
        assert.match(vars.E2E_KIND_VERSION, /^v\d+\.\d+\.\d+$/);
        assert.match(vars.E2E_KIND_NODE_IMAGE, /^kindest\/node:v\d+\.\d+\.\d+@sha256:[0-9a-f]{64}$/);
        const cluster = YAML.parse(fs.readFileSync(path.join(repoRoot, vars.E2E_KIND_CONFIG), "utf8")) as {
            nodes: Array<{ role: string }>;
        };
        // One Redis node per Kubernetes node (required anti-affinity), and the control plane is tainted.
        assert.ok(cluster.nodes.filter((n) => n.role === "worker").length >= 3, "at least three workers");
    });

    it("installs the Pulumi CLI of the SDK's version, logs in locally, deploys, smoke-tests, drills, in that order", () => {
        const { steps } = job();
        const order = [
            findStep(steps, "checking out", usesAction("actions/checkout")),
            findStep(steps, "installing the dependencies", runs(/^npm ci\b/m)),
            findStep(steps, "creating the kind cluster", usesAction("helm/kind-action")),
            findStep(steps, "installing the Pulumi CLI", usesAction("pulumi/actions")),
            findStep(steps, "logging in to the local backend", runs(/^pulumi login --local$/m)),
            findStep(steps, "deploying", runs(/^tools\/e2e\/up\.sh$/m)),
            findStep(steps, "smoke-testing the stack", runs(/^npm run smoke -- --stack \$E2E_STACK$/m)),
            findStep(steps, "running the fault drill", runs(/^\s*tools\/e2e\/drill\.sh \S+/m)),
        ];
        order.forEach((s, i) =>
            assert.ok(i === 0 || order[i - 1].index < s.index, `step ${s.step.name} comes after ${order[i - 1]?.step.name}`),
        );
        const cli = order[3];
        assert.equal(Object.keys(cli.with).join(), "pulumi-version", "the action only installs the CLI");
        assert.equal(cli.with["pulumi-version"], "${{ steps.pins.outputs.pulumi }}");
        const pins = findStep(steps, "reading the pins", (s) => s.step.id === "pins");
        assert.match(pins.run, /echo pulumi=\$\(node -p require\(@pulumi\/pulumi\/package\.json\)\.version\)/);
        // So the smoke step's $E2E_STACK is the stack common.sh names.
        assert.match(pins.run, /^echo E2E_STACK=\$E2E_STACK >> \$GITHUB_ENV$/m);
        assert.equal(settings().E2E_STACK, "e2e");
        const node = findStep(steps, "setting up node", usesAction("actions/setup-node"));
        assert.equal(node.with["node-version"], "20");
        // The passphrase of the local backend comes from the workflow itself.
        const { wf } = job();
        assert.ok(typeof wf.jobs.kind.env?.PULUMI_CONFIG_PASSPHRASE === "string" && wf.jobs.kind.env.PULUMI_CONFIG_PASSPHRASE !== "");
    });

    it("reports the drill in the job summary, uploads events and pod logs on failure, and always destroys", () => {
        const { steps } = job();
        const drill = findStep(steps, "running the fault drill", runs(/tools\/e2e\/drill\.sh/));
        assert.match(drill.run, />> \$GITHUB_STEP_SUMMARY/);
        assert.match(drill.run, /exit \$status\s*$/, "the drill's verdict is the step's");
        const collect = findStep(steps, "collecting diagnostics", runs(/^tools\/e2e\/collect-logs\.sh (\S+)$/m));
        const upload = findStep(steps, "uploading diagnostics", usesAction("actions/upload-artifact"));
        for (const s of [collect, upload]) assert.equal(s.step.if, "failure()", `${s.step.name}: only on failure`);
        const dir = /collect-logs\.sh (\S+)/.exec(collect.run)![1];
        assert.equal(dir.replace("$RUNNER_TEMP", "${{ runner.temp }}"), upload.with.path, "uploads the folder collect-logs.sh wrote");
        const destroy = findStep(steps, "destroying", runs(/^tools\/e2e\/down\.sh$/m));
        assert.equal(destroy.step.if, "always()");
        assert.equal(destroy.index, steps.length - 1, "destroy is the last step");
        assert.ok(collect.index < destroy.index, "logs are collected before the stack is destroyed");
    });
});

describe("tools/e2e: the scripts the e2e workflow runs", () => {
    it("up.sh checks the e2e stack, deploys with the policy pack and its config, waits for every workload", () => {
        const up = script("up.sh");
        const vars = settings();
        assert.equal(vars.E2E_STACK, "e2e");
        assert.equal(vars.E2E_STACK_FILE, "Pulumi.e2e.yaml");
        assert.equal(vars.E2E_POLICY_CONFIG, "policy/config/e2e.json");
        assert.doesNotMatch(up, /\b(cp|mv|rm)\b/, "up.sh leaves the user's files alone");
        assert.match(up, /^npm run --silent check -- --stack "\$E2E_STACK" --policy-config "\$E2E_POLICY_CONFIG"$/m);
        // The command goes on after a backslash-newline.
        const pulumiUp = new RegExp(
            /pulumi up --yes --non-interactive --stack "\$E2E_STACK" \\\n\s+/.source +
                /--policy-pack policy --policy-pack-config "\$E2E_POLICY_CONFIG"/.source,
        );
        assert.match(up, pulumiUp);
        assert.match(up, /get deployments,statefulsets --output name/);
        assert.match(up, /rollout status "\$w" --timeout/);
        assert.match(up, /wait --for condition=Ready pod --all --timeout/);
    });

    it("down.sh destroys and removes the stack, and succeeds when there is nothing to destroy", () => {
        const down = script("down.sh");
        assert.match(down, /pulumi destroy --yes --non-interactive --skip-preview --stack "\$E2E_STACK"/);
        // Without --preserve-config, `pulumi stack rm` would delete the tracked Pulumi.e2e.yaml.
        assert.match(down, /pulumi stack rm --yes --preserve-config --non-interactive --stack "\$E2E_STACK"/);
        assert.doesNotMatch(down, /\brm -f\b/);
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "e2e-down-"));
        try {
            // No pulumi on PATH (a run that failed before installing it): nothing to do, exit 0.
            const r = spawnSync("bash", [path.join(e2eDir, "down.sh")], {
                encoding: "utf8",
                timeout: SPAWN_TIMEOUT_MS,
                env: { PATH: "/usr/bin:/bin", HOME: dir },
            });
            assert.equal(r.status, 0, r.stderr);
            assert.match(r.stderr, /no stack e2e: nothing to destroy/);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("drill.sh finds the Redis master with the password file and labels the stack renders", () => {
        const drill = script("drill.sh");
        assert.ok(drill.includes(`cat ${KUBERNETES_PATHS.passwordFile}`), `drill.sh reads ${KUBERNETES_PATHS.passwordFile}`);
        for (const name of ["redis-node", "controller", "registry"]) assert.ok(drill.includes(name), name);
        assert.match(drill, /delete pod "\$pod" --force --grace-period 0/);
        assert.match(drill, /npm run --silent smoke -- --stack "\$E2E_STACK" --watch "\$seconds" --markdown/);
    });

    it("every script is clean under shellcheck", () => {
        const files = fs
            .readdirSync(e2eDir)
            .filter((f) => f.endsWith(".sh"))
            .map((f) => path.join("tools", "e2e", f));
        assert.ok(files.length >= 5);
        const r = spawnSync("shellcheck", ["-x", ...files], { cwd: repoRoot, encoding: "utf8", timeout: SPAWN_TIMEOUT_MS });
        assert.equal(r.error, undefined, `shellcheck did not run (Debian package shellcheck): ${String(r.error)}`);
        assert.equal(r.status, 0, r.stdout + r.stderr);
    });

    describe("the e2e stack (Pulumi.e2e.yaml)", () => {
        let objects: K8sObject[];
        let mandatory: string[];

        before(async function () {
            this.timeout(120_000);
            const vars = settings();
            assert.equal(path.join(repoRoot, vars.E2E_STACK_FILE), path.join(repoRoot, `Pulumi.${vars.E2E_STACK}.yaml`));
            const outcome = await check({
                stack: vars.E2E_STACK,
                projectDir: repoRoot,
                policyConfig: path.join(repoRoot, vars.E2E_POLICY_CONFIG),
                json: true,
                help: false,
            });
            objects = outcome.objects;
            mandatory = outcome.report.violations.filter((v) => v.enforcementLevel === "mandatory").map((v) => `${v.policy}: ${v.message}`);
            assert.deepEqual(outcome.report.errors, []);
        });

        it("renders and passes its policy config with no mandatory violation", () => {
            assert.deepEqual(mandatory, []);
        });

        it("is Redis ha behind ClusterIP Services with JWT auth, two replicas of each service", () => {
            const find = (kind: string, name: string): K8sObject => {
                const o = objects.find((x) => x.kind === kind && x.metadata?.name === name);
                assert.ok(o, `${kind}/${name}`);
                return o;
            };
            assert.equal(find("StatefulSet", "redis-node").spec.replicas, 3);
            for (const name of ["controller", "registry"]) {
                assert.equal(find("Service", name).spec.type ?? "ClusterIP", "ClusterIP");
                const d = find("Deployment", name);
                assert.equal(d.spec.replicas, 2);
                const env = d.spec.template.spec.containers[0].env as Array<{ name: string; value?: string }>;
                assert.equal(env.find((e) => e.name === "A8_AUTH_MODE")?.value, "jwt");
            }
            // drill.sh selects the pods to delete by these labels.
            for (const [kind, name] of [
                ["StatefulSet", "redis-node"],
                ["Deployment", "controller"],
                ["Deployment", "registry"],
            ]) {
                assert.equal(find(kind, name).spec.template.metadata.labels["app.kubernetes.io/name"], name, `${kind}/${name} pod label`);
            }
            const mounts = find("StatefulSet", "redis-node").spec.template.spec.containers.find((c: { name: string }) => c.name === "redis")
                .volumeMounts as Array<{ mountPath: string }>;
            assert.ok(
                mounts.some((m) => m.mountPath === path.posix.dirname(KUBERNETES_PATHS.passwordFile)),
                "the drill's password file is mounted in container redis",
            );
        });
    });
});
