/**
 * What a user does with a stack, by the real Pulumi CLI against a real Kubernetes control plane
 * (harness/cluster): `pulumi up`, every workload Ready because the real processes are, the smoke
 * journey through the stack's own outputs, a second `up` with nothing to do, the URNs the engine
 * holds against the pins, and `pulumi destroy` leaving nothing behind.
 */
import { strict as assert } from "assert";
import { execFile } from "child_process";
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { amalgam8Image } from "../../harness/cluster/agent/images";
import type { KubeObject } from "../../harness/cluster/kubeApi";
import { confinementOfProcess, containerProcess } from "../../harness/cluster/processes";
import { reachStackPlane } from "../../harness/cluster/stackPlane";
import { CliResult, PulumiProject, policyPackArgs, pulumiProject } from "../../harness/cluster/pulumiCli";
import { TestCluster, startTestCluster } from "../../harness/cluster/testCluster";
import { CLUSTER_NETWORK } from "../../harness/cluster/controlPlane";
import { ManagedProcess, WaitAborted, launch, tailFile, waitFor } from "../../cli/process";
import { REPO_ROOT } from "../../cli/repoRoot";
import { shippedStacks } from "../../cli/program/stackConfig";
import { missingAfterRestart, removeWritten, replacePods, writeRuleAndInstance } from "./support";

const STACKS = ["dev", "staging", "prod"] as const;

/**
 * Beside the shipped stacks, a user's own: dev's code path with an external Redis (a redis-server
 * outside the cluster, on the pods' gateway address) and JWT auth, its secrets set with the CLI.
 */
const EXTERNAL = {
    stack: "external-jwt",
    redisAddress: { host: CLUSTER_NETWORK.bridgeAddress, port: 6380 },
    stackFile: (redis: { host: string; port: number }): string =>
        [
            "config:",
            "  a8-control-plane:namespace: amalgam8-external",
            "  a8-control-plane:serviceType: ClusterIP",
            "  a8-control-plane:auth: jwt",
            "  a8-control-plane:controller:",
            "    replicas: 2",
            "  a8-control-plane:registry:",
            "    replicas: 2",
            "  a8-control-plane:redis:",
            "    mode: external",
            `    address: ${redis.host}:${redis.port}`,
            "",
        ].join("\n"),
} as const;

interface Suite {
    readonly stack: string;
    /** Shipped: its URNs are pinned (tests/program/resource-urns.json). */
    readonly shipped: boolean;
    /** The policy config its pull requests are previewed with (policy/config/<name>.json). */
    readonly policyConfig: string;
}

const SUITES: readonly Suite[] = [
    ...STACKS.map((stack) => ({ stack, shipped: true, policyConfig: stack })),
    { stack: EXTERNAL.stack, shipped: false, policyConfig: "dev" },
];
const UP_TIMEOUT_MS = 600_000;
const SMOKE_TIMEOUT_MS = 180_000;
const DRILL_SECONDS = 40;
/** The HPA controller's sync period is 15 s; then the new pods start and pass their readiness probes. */
const HPA_SETTLE_MS = 90_000;
/** New pods scheduled, started and through their readiness probes; Redis replays its AOF first. */
const RESTART_TIMEOUT_MS = 120_000;

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

/**
 * Upstream does not retry: a pooled connection to a Redis that went away fails once (500) on first
 * use, so what was written is looked for again, within a bound; the problems of the last look.
 */
async function eventually(look: () => Promise<string[]>, timeoutMs = 15_000): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const problems = await look();
        if (problems.length === 0 || Date.now() >= deadline) return problems;
        await new Promise((r) => setTimeout(r, 500));
    }
}

interface ExternalRedis {
    /** SIGKILL, then start again on the same data. */
    restart(): Promise<void>;
    stop(): Promise<void>;
}

/** A password-protected redis-server in the cluster's network, outside every pod: a managed Redis. */
async function startExternalRedis(cluster: TestCluster, at: { host: string; port: number }, password: string): Promise<ExternalRedis> {
    const dir = path.join(cluster.dir, "external-redis");
    fs.mkdirSync(dir, { mode: 0o700 });
    // In a 0600 file, not on the command line where ps would show it.
    const conf = path.join(dir, "redis.conf");
    fs.writeFileSync(conf, `bind ${at.host}\nport ${at.port}\ndir "${dir}"\nrequirepass "${password}"\nappendonly yes\nsave ""\n`, {
        mode: 0o600,
    });
    const log = path.join(dir, "redis.log");
    let proc: ManagedProcess | undefined;
    const start = async (): Promise<void> => {
        proc = launch("external-redis", "nsenter", [`--net=${cluster.controlPlane.netnsPath}`, "--", "redis-server", conf], {
            env: { PATH: process.env.PATH ?? "" },
            logFile: log,
        }).process;
        const running = proc;
        await waitFor(
            "the external Redis to accept connections",
            15_000,
            async () => {
                if (!running.running) throw new WaitAborted(`the external Redis exited: ${tailFile(log, 5)}`);
                return /Ready to accept connections/.test(tailFile(log, 20));
            },
            100,
        );
    };
    await start();
    return {
        async restart() {
            // appendfsync everysec: what was acknowledged more than a second ago survives a crash.
            await new Promise((r) => setTimeout(r, 1_100));
            proc?.signal("SIGKILL");
            await proc?.waitExit(5_000);
            await start();
        },
        stop: async () => proc?.stop(5_000),
    };
}

async function stackOutputs(project: PulumiProject, stack: string): Promise<Record<string, unknown>> {
    const r = await project.run(["stack", "output", "--json", "--show-secrets", "--stack", stack]);
    assert.equal(r.code, 0, output(r));
    return JSON.parse(r.stdout) as Record<string, unknown>;
}

/** `npm run smoke -- --stack <stack> [args]`, as a user runs it: the real `pulumi stack output`, the real kubectl. */
function smoke(project: PulumiProject, kubeconfig: string, stack: string, args: readonly string[] = []): Promise<CliResult> {
    const main = path.join(REPO_ROOT, "cli", "smoke", "main.ts");
    return new Promise((resolve) => {
        execFile(
            process.execPath,
            ["-r", path.join(REPO_ROOT, "cli", "check", "transpileCache.js"), main, "--stack", stack, ...args],
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
    let externalRedis: ExternalRedis | undefined;

    before(async function () {
        this.timeout(180_000);
        assert.deepEqual(
            STACKS.filter((s) => !shippedStacks(REPO_ROOT).includes(s)),
            [],
            "every stack this test deploys is shipped",
        );
        cluster = await startTestCluster();
        env = { KUBECONFIG: cluster.kubeconfig };
        const password = randomBytes(16).toString("hex");
        externalRedis = await startExternalRedis(cluster, EXTERNAL.redisAddress, password);
        project = pulumiProject({
            ...Object.fromEntries(STACKS.map((s) => [s, stackFile(s)])),
            [EXTERNAL.stack]: EXTERNAL.stackFile(EXTERNAL.redisAddress),
        });
        for (const { stack } of SUITES) {
            const init = await project.run(["stack", "init", stack]);
            assert.equal(init.code, 0, output(init));
        }
        // As a user sets the managed Redis's password: encrypted in the stack file, never in clear.
        const secret = await project.run(["config", "set", "--secret", "redisPassword", password, "--stack", EXTERNAL.stack]);
        assert.equal(secret.code, 0, output(secret));
    });
    after(async function () {
        this.timeout(120_000);
        project?.remove();
        await externalRedis?.stop();
        await cluster?.stop();
    });

    for (const { stack, shipped, policyConfig } of SUITES) {
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
                assert.ok(workloads.length >= (stack === EXTERNAL.stack ? 2 : 3), `controller, registry and Redis in ${namespace}`);
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

            it("runs each controller and registry container under the security context the API server holds for it", async () => {
                let checked = 0;
                for (const pod of await cluster.api.list(`/api/v1/namespaces/${namespace}/pods`)) {
                    for (const c of pod.spec.containers as KubeObject[]) {
                        if (!amalgam8Image(c.image)) continue;
                        const status = (pod.status.containerStatuses as KubeObject[]).find((s) => s.name === c.name);
                        const actual = confinementOfProcess(containerProcess(status?.containerID));
                        const what = `${pod.metadata.name}/${c.name}`;
                        const context = { ...pod.spec.securityContext, ...c.securityContext };
                        assert.equal(actual.uid, context.runAsUser, `${what}: uid`);
                        assert.equal(actual.gid, context.runAsGroup, `${what}: gid`);
                        if (c.securityContext?.capabilities?.drop?.includes("ALL"))
                            assert.equal(actual.capabilityBoundingSet, 0n, `${what}: capabilities`);
                        if (c.securityContext?.allowPrivilegeEscalation === false) assert.ok(actual.noNewPrivs, `${what}: no_new_privs`);
                        assert.equal(actual.readOnlyRoot, c.securityContext?.readOnlyRootFilesystem === true, `${what}: read-only root`);
                        checked += 1;
                    }
                }
                assert.ok(checked >= 2, `${checked} Amalgam8 containers checked`);
            });

            it("keeps rules and instances when every controller and registry pod is deleted (and a single Redis node's pod)", async () => {
                const outputs = await stackOutputs(project, stack);
                const deployments = await cluster.api.list(`/apis/apps/v1/namespaces/${namespace}/deployments`);
                const services = deployments.filter((d) =>
                    (d.spec.template.spec.containers as KubeObject[]).some((c) => amalgam8Image(c.image)),
                );
                let plane = await reachStackPlane(cluster, outputs);
                const written = await writeRuleAndInstance(plane.target);
                try {
                    await plane.close();
                    await replacePods(cluster.api, namespace, services, RESTART_TIMEOUT_MS);
                    plane = await reachStackPlane(cluster, outputs);
                    let problems = await missingAfterRestart(plane, written, { instances: true });
                    assert.deepEqual(problems, [], "lost across new pods");
                    const singleRedis = (await cluster.api.list(`/apis/apps/v1/namespaces/${namespace}/statefulsets`)).filter(
                        (s) => s.spec.replicas === 1,
                    );
                    if (stack === EXTERNAL.stack) {
                        await (externalRedis as ExternalRedis).restart();
                        problems = await eventually(() => missingAfterRestart(plane, written, { instances: true }));
                        assert.deepEqual(problems, [], "lost across a restart of the external Redis");
                    }
                    if (singleRedis.length > 0) {
                        await plane.close();
                        await replacePods(cluster.api, namespace, singleRedis, RESTART_TIMEOUT_MS);
                        plane = await reachStackPlane(cluster, outputs);
                        problems = await eventually(() => missingAfterRestart(plane, written, { instances: true }));
                        assert.deepEqual(problems, [], "lost across a new Redis pod");
                    }
                } finally {
                    await removeWritten(plane.target, written);
                    await plane.close();
                }
            });

            if (stack === "prod")
                it("drill: Redis master pod deleted under smoke --watch: back again, failed over, nothing acknowledged lost", async () => {
                    const outputs = (await stackOutputs(project, stack)) as Record<string, string>;
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
                const preview = await project.run(["preview", "--expect-no-changes", "--stack", stack, ...policyPackArgs(policyConfig)], {
                    env,
                });
                assert.equal(preview.code, 0, failed("preview found changes or a policy violation", preview));
                assert.doesNotMatch(output(preview), /mandatory|can't run policy/, output(preview));
            });

            if (shipped)
                it("the engine holds exactly the URNs that the pins (cli/program/engineUrns.ts) compute", async () => {
                    const exported = await project.run(["stack", "export", "--stack", stack]);
                    assert.equal(exported.code, 0, output(exported));
                    const resources = (JSON.parse(exported.stdout) as { deployment: { resources: { urn: string; type: string }[] } })
                        .deployment.resources;
                    const urns = resources
                        .filter((r) => r.type !== "pulumi:pulumi:Stack" && !r.type.startsWith("pulumi:providers:"))
                        .map((r) => r.urn)
                        .sort();
                    assert.deepEqual(urns, [...pinnedUrns(stack)].sort());
                });

            it("pulumi destroy leaves nothing of the stack (the namespace goes, with its volumes), then stack rm", async () => {
                const r = await project.run(["destroy", "--yes", "--skip-preview", "--stack", stack], { env, timeoutMs: UP_TIMEOUT_MS });
                assert.equal(r.code, 0, failed("pulumi destroy failed", r));
                assert.ok(namespace, "the stack's namespace output is known (its first up failed)");
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
