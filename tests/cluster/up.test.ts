/**
 * What a user does with a stack, by the real Pulumi CLI against a real Kubernetes control plane
 * (tools/cluster): `pulumi up`, every workload Ready because the real processes are, the smoke
 * journey through the stack's own outputs, a second `up` with nothing to do, the URNs the engine
 * holds against the pins, and `pulumi destroy` leaving nothing behind.
 */
import { strict as assert } from "assert";
import { execFile } from "child_process";
import * as fs from "fs";
import * as path from "path";
import type { KubeObject } from "../../tools/cluster/kubeApi";
import { CliResult, PulumiProject, policyPackArgs, pulumiProject } from "../../tools/cluster/pulumiCli";
import { TestCluster, startTestCluster } from "../../tools/cluster/testCluster";
import { waitFor } from "../../tools/loopback/process";
import { REPO_ROOT } from "../../tools/repoRoot";
import { shippedStacks } from "../../tools/program/stackConfig";

const STACKS = ["dev", "staging", "prod"] as const;
const UP_TIMEOUT_MS = 600_000;
const SMOKE_TIMEOUT_MS = 180_000;
const DRILL_SECONDS = 40;
/** The HPA controller's sync period is 15 s; then the new pods start and pass their readiness probes. */
const HPA_SETTLE_MS = 90_000;

/** The Redis pod that reports role:master (redis-cli inside the cluster's network, as a pod would ask). */
async function redisMaster(cluster: TestCluster, namespace: string, password: string): Promise<string> {
    const pods = (await cluster.api.list(`/api/v1/namespaces/${namespace}/pods`)).filter(
        (p) => p.status?.podIP && (p.spec.containers as { name: string }[]).some((c) => c.name === "sentinel"),
    );
    const masters: string[] = [];
    for (const pod of pods) {
        const info = await new Promise<string>((resolve) =>
            execFile(
                "nsenter",
                [
                    `--net=${cluster.controlPlane.netnsPath}`,
                    "--",
                    "redis-cli",
                    "-h",
                    pod.status.podIP,
                    "--no-auth-warning",
                    "info",
                    "replication",
                ],
                { env: { ...process.env, REDISCLI_AUTH: password }, timeout: 5_000 },
                (_e, stdout) => resolve(stdout),
            ),
        );
        if (/^role:master\r?$/m.test(info)) masters.push(pod.metadata.name as string);
    }
    assert.equal(masters.length, 1, `one master among ${pods.map((p) => p.metadata.name).join(", ")}: ${masters.join(", ")}`);
    return masters[0];
}

const stackFile = (stack: string): string => fs.readFileSync(path.join(REPO_ROOT, `Pulumi.${stack}.yaml`), "utf8");
const output = (r: CliResult): string => `${r.stdout}\n${r.stderr}`;
const pinnedUrns = (stack: string): string[] =>
    (JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "tests", "program", "resource-urns.json"), "utf8")) as Record<string, string[]>)[
        stack
    ];

/** `npm run smoke -- --stack <stack> [args]`, as a user runs it: the real `pulumi stack output`, the real kubectl. */
function smoke(project: PulumiProject, kubeconfig: string, stack: string, args: readonly string[] = []): Promise<CliResult> {
    const main = path.join(REPO_ROOT, "tools", "smoke", "main.ts");
    return new Promise((resolve) => {
        execFile(
            process.execPath,
            ["-r", path.join(REPO_ROOT, "tools", "check", "transpileCache.js"), main, "--stack", stack, ...args],
            { cwd: REPO_ROOT, env: { ...project.env, KUBECONFIG: kubeconfig }, timeout: SMOKE_TIMEOUT_MS },
            (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout, stderr }),
        );
    });
}

describe("pulumi up, a second up and destroy (the real Pulumi CLI, a real control plane)", function () {
    this.timeout(UP_TIMEOUT_MS);
    let cluster: TestCluster;
    let project: PulumiProject;
    let env: Record<string, string>;

    before(async function () {
        this.timeout(180_000);
        assert.deepEqual(
            STACKS.filter((s) => !shippedStacks(REPO_ROOT).includes(s)),
            [],
            "every stack this test deploys is shipped",
        );
        cluster = await startTestCluster();
        env = { KUBECONFIG: cluster.kubeconfig };
        project = pulumiProject(Object.fromEntries(STACKS.map((s) => [s, stackFile(s)])));
        for (const stack of STACKS) {
            const init = await project.run(["stack", "init", stack]);
            assert.equal(init.code, 0, output(init));
        }
    });
    after(async function () {
        this.timeout(120_000);
        project?.remove();
        await cluster?.stop();
    });

    for (const stack of STACKS) {
        describe(stack, () => {
            /** The stack's `namespace` output, once it is up. */
            let namespace = "";
            const failed = (what: string, r: CliResult): string =>
                `${what}\n${output(r)}\n--- node agent ---\n${cluster.log("node-agent", 40)}`;

            it("pulumi up completes with every Deployment and StatefulSet at its replicas, every pod Ready", async () => {
                const r = await project.run(["up", "--yes", "--skip-preview", "--stack", stack], { env, timeoutMs: UP_TIMEOUT_MS });
                assert.equal(r.code, 0, failed("pulumi up failed", r));
                const out = await project.run(["stack", "output", "namespace", "--stack", stack]);
                namespace = out.stdout.trim();
                assert.match(namespace, /^[a-z0-9-]+$/, output(out));
                const listWorkloads = async () => [
                    ...(await cluster.api.list(`/apis/apps/v1/namespaces/${namespace}/deployments`)),
                    ...(await cluster.api.list(`/apis/apps/v1/namespaces/${namespace}/statefulsets`)),
                ];
                const ready = (w: KubeObject): boolean =>
                    (w.spec.replicas ?? 1) >= 1 && (w.status?.readyReplicas ?? 0) === (w.spec.replicas ?? 1);
                const autoscaled = new Set(
                    (await cluster.api.list(`/apis/autoscaling/v2/namespaces/${namespace}/horizontalpodautoscalers`)).map(
                        (h) => h.spec.scaleTargetRef.name as string,
                    ),
                );
                let workloads = await listWorkloads();
                assert.ok(workloads.length >= 3, `controller, registry and Redis in ${namespace}`);
                // What Pulumi's await covers: every rollout it started is Ready when up returns.
                for (const w of workloads.filter((x) => !autoscaled.has(x.metadata.name))) {
                    assert.ok(ready(w), `${w.kind} ${w.metadata.name}: ${w.status?.readyReplicas ?? 0} of ${w.spec.replicas} Ready`);
                }
                // An autoscaled Deployment starts at 1; its HorizontalPodAutoscaler then raises it to minReplicas.
                await waitFor(
                    "the autoscaled workloads to reach their minReplicas, Ready",
                    HPA_SETTLE_MS,
                    async () => {
                        workloads = await listWorkloads();
                        return workloads.every(ready);
                    },
                    1000,
                );
                const pods = await cluster.api.list(`/api/v1/namespaces/${namespace}/pods`);
                const notReady = pods.filter(
                    (p) =>
                        !(p.status?.conditions ?? []).some(
                            (c: { type: string; status: string }) => c.type === "Ready" && c.status === "True",
                        ),
                );
                assert.deepEqual(
                    notReady.map((p) => p.metadata.name),
                    [],
                    "pods not Ready",
                );
                // Spread: the replicas of each Deployment and StatefulSet land on more than one node.
                for (const w of workloads.filter((x) => (x.spec.replicas ?? 1) > 1)) {
                    const selector = Object.entries(w.spec.selector.matchLabels as Record<string, string>);
                    const mine = pods.filter((p) => selector.every(([k, v]) => p.metadata.labels?.[k] === v));
                    const nodes = new Set(mine.map((p) => p.spec.nodeName as string));
                    assert.ok(nodes.size > 1, `${w.metadata.name}: ${w.spec.replicas} replicas on ${[...nodes].join(", ")}`);
                }
            });

            it("npm run smoke -- --stack passes through the stack's own outputs", async () => {
                const r = await smoke(project, cluster.kubeconfig, stack);
                assert.equal(r.code, 0, failed("smoke failed", r));
                assert.match(r.stdout, /^PASS: \d+ steps$/m, r.stdout);
            });

            if (stack === "prod")
                it("drill: Redis master pod deleted under smoke --watch: back again, failed over, nothing acknowledged lost", async () => {
                    const outputs = JSON.parse(
                        (await project.run(["stack", "output", "--json", "--show-secrets", "--stack", stack])).stdout,
                    ) as Record<string, string>;
                    const masterBefore = await redisMaster(cluster, namespace, outputs.redisPassword);
                    const drill = smoke(project, cluster.kubeconfig, stack, ["--watch", String(DRILL_SECONDS), "--json"]);
                    await new Promise((r) => setTimeout(r, DRILL_SECONDS * 250));
                    await cluster.api.delete(`/api/v1/namespaces/${namespace}/pods/${masterBefore}`);
                    const r = await drill;
                    const report = JSON.parse(r.stdout) as { ok: boolean; rules: { writesAcknowledged: number; acknowledgedLost: number } };
                    assert.equal(report.rules.acknowledgedLost, 0, r.stdout);
                    assert.ok(report.rules.writesAcknowledged > 0, r.stdout);
                    assert.equal(r.code, 0, failed("the drill failed", r));
                    const masterAfter = await redisMaster(cluster, namespace, outputs.redisPassword);
                    assert.notEqual(masterAfter, masterBefore, "Sentinel promoted another node");
                    await waitFor(
                        "the StatefulSet to have every replica Ready again",
                        120_000,
                        async () =>
                            (await cluster.api.list(`/apis/apps/v1/namespaces/${namespace}/statefulsets`)).every(
                                (w) => (w.status?.readyReplicas ?? 0) === w.spec.replicas,
                            ),
                        1000,
                    );
                });

            it("a second up changes nothing, and a pull request's preview with the pack agrees", async () => {
                const up = await project.run(["up", "--yes", "--skip-preview", "--expect-no-changes", "--stack", stack], { env });
                assert.equal(up.code, 0, failed("the second up found changes", up));
                // The pack now judges live objects (the engine hands stack policies the outputs of
                // unchanged resources): its verdict must be the one the first preview got.
                const preview = await project.run(["preview", "--expect-no-changes", "--stack", stack, ...policyPackArgs(stack)], { env });
                assert.equal(preview.code, 0, failed("preview found changes or a policy violation", preview));
                assert.doesNotMatch(output(preview), /mandatory|can't run policy/, output(preview));
            });

            it("the engine holds exactly the URNs that the pins (tools/program/engineUrns.ts) compute", async () => {
                const exported = await project.run(["stack", "export", "--stack", stack]);
                assert.equal(exported.code, 0, output(exported));
                const resources = (JSON.parse(exported.stdout) as { deployment: { resources: { urn: string; type: string }[] } }).deployment
                    .resources;
                const urns = resources
                    .filter((r) => r.type !== "pulumi:pulumi:Stack" && !r.type.startsWith("pulumi:providers:"))
                    .map((r) => r.urn)
                    .sort();
                assert.deepEqual(urns, [...pinnedUrns(stack)].sort());
            });

            it("pulumi destroy leaves nothing of the stack (the namespace goes, with its volumes), then stack rm", async () => {
                const r = await project.run(["destroy", "--yes", "--skip-preview", "--stack", stack], { env, timeoutMs: UP_TIMEOUT_MS });
                assert.equal(r.code, 0, failed("pulumi destroy failed", r));
                assert.equal(await cluster.api.find(`/api/v1/namespaces/${namespace}`), undefined, `namespace ${namespace} is gone`);
                // The claims went with the namespace; reclaimPolicy Delete then removes their volumes.
                await waitFor(
                    `the volumes of ${namespace} to be deleted`,
                    60_000,
                    async () =>
                        (await cluster.api.list("/api/v1/persistentvolumes")).every((pv) => pv.spec.claimRef?.namespace !== namespace),
                    500,
                );
                const rm = await project.run(["stack", "rm", "--yes", "--stack", stack]);
                assert.equal(rm.code, 0, output(rm));
            });
        });
    }
});
