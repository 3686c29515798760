/**
 * What deploys fine and fails in production, on the real control plane: the dev stack's rendered
 * objects are applied as they are; each test then adds a copy of the rendered controller or
 * registry Deployment with ONE thing changed (as a wrong program would render it), which no
 * Service selects, and expects the pod to fail the way the kubelet and the real service make it
 * fail: status, events, logs, and what sidecars would get.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import type { IContainer } from "kubernetes-models/v1/Container";
import type { IPodSpec } from "kubernetes-models/v1/PodSpec";
import { amalgam8Image } from "../../harness/cluster/agent/images";
import { applyObjects } from "../../harness/cluster/apply";
import type { KubeObject } from "../../harness/cluster/kubeApi";
import { openPortal } from "../../harness/loopback/portal";
import { StackPlane, reachStackPlane } from "../../harness/cluster/stackPlane";
import { TestCluster, startTestCluster } from "../../harness/cluster/testCluster";
import type { Amalgam8Service } from "../../harness/loopback/prerequisites";
import { freePorts, waitFor } from "../../cli/process";
import { runSidecarJourney } from "../../cli/smoke/journey";
import { renderStack, stackConfig } from "../support/program";
import { missingAfterRestart, removeWritten, replacePods, selectorOf, writeRuleAndInstance } from "./support";

const READY_TIMEOUT_MS = 120_000;
/** Long enough for a readiness probe (period 5 s) and the first liveness probe (after 10 s) to run. */
const PROBE_WAIT_MS = 40_000;

type Change = (container: IContainer, pod: IPodSpec) => void;

function env(container: IContainer, name: string): { name: string; value?: string; valueFrom?: any } {
    const e = container.env?.find((x) => x.name === name);
    if (!e)
        throw new Error(
            `the rendered ${container.name} container has no env ${name}: ${(container.env ?? []).map((x) => x.name).join(", ")}`,
        );
    return e;
}

const isReady = (pod: KubeObject): boolean =>
    (pod.status?.conditions ?? []).some((c: { type: string; status: string }) => c.type === "Ready" && c.status === "True");

describe("a wrong rendered container fails on the real control plane as in production (real services)", function () {
    this.timeout(180_000);
    let cluster: TestCluster;
    let objects: KubeObject[];
    let namespace: string;
    let plane: StackPlane;
    let copies = 0;
    const wrong: string[] = [];

    before(async function () {
        this.timeout(300_000);
        const rendered = await renderStack(stackConfig("dev"));
        objects = rendered.objects;
        namespace = String(rendered.run.outputs.namespace.value);
        cluster = await startTestCluster();
        await applyObjects(cluster.kubeconfig, cluster.dir, objects);
        await waitFor(
            `${namespace}: every workload Ready`,
            READY_TIMEOUT_MS,
            async () => {
                const workloads = [
                    ...(await cluster.api.list(`/apis/apps/v1/namespaces/${namespace}/deployments`)),
                    ...(await cluster.api.list(`/apis/apps/v1/namespaces/${namespace}/statefulsets`)),
                ];
                return workloads.length >= 3 && workloads.every((w) => (w.status?.readyReplicas ?? 0) === w.spec.replicas);
            },
            500,
        );
        plane = await reachStackPlane(cluster, Object.fromEntries(Object.entries(rendered.run.outputs).map(([k, v]) => [k, v.value])));
    });

    afterEach(async function () {
        this.timeout(60_000);
        for (const name of wrong.splice(0))
            await cluster.api.delete(`/apis/apps/v1/namespaces/${namespace}/deployments/${name}`, { propagationPolicy: "Background" });
    });

    after(async function () {
        this.timeout(120_000);
        await plane?.close();
        await cluster?.stop();
    });

    /** Adds a one-replica copy of the service's rendered Deployment with `change` made, selected by no Service. */
    async function deployWrong(service: Amalgam8Service, change: Change): Promise<KubeObject> {
        const rendered = objects.find(
            (o) =>
                o.kind === "Deployment" &&
                (o.spec.template.spec.containers as IContainer[]).some((c) => amalgam8Image(c.image ?? "")?.service === service),
        ) as KubeObject;
        const copy = JSON.parse(JSON.stringify(rendered)) as KubeObject;
        const name = `${rendered.metadata.name}-wrong-${++copies}`;
        const labels = { "app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "amalgam8-tests" };
        copy.metadata = { name, namespace, labels };
        copy.spec.replicas = 1;
        copy.spec.selector = { matchLabels: labels };
        copy.spec.template.metadata = { labels };
        const pod = copy.spec.template.spec as IPodSpec;
        const container = pod.containers.find((c) => amalgam8Image(c.image ?? "")?.service === service) as IContainer;
        change(container, pod);
        const created = await cluster.api.create(`/apis/apps/v1/namespaces/${namespace}/deployments`, copy);
        wrong.push(name);
        return created;
    }

    /** The copy's pod once `until` holds for it; the last pod seen in the error otherwise. */
    async function podOf(deployment: KubeObject, what: string, until: (pod: KubeObject) => boolean): Promise<KubeObject> {
        let last: KubeObject | undefined;
        await waitFor(
            `${deployment.metadata.name}: ${what}`,
            READY_TIMEOUT_MS,
            async () => {
                const pods = await cluster.api.list(`/api/v1/namespaces/${namespace}/pods?labelSelector=${selectorOf(deployment)}`);
                last = pods.find((p) => !p.metadata.deletionTimestamp);
                return last !== undefined && until(last);
            },
            500,
        ).catch((e: Error) => {
            throw new Error(`${e.message}\nlast pod status: ${JSON.stringify(last?.status)}`);
        });
        return last as KubeObject;
    }

    const containerStatus = (pod: KubeObject): KubeObject | undefined => pod.status?.containerStatuses?.[0];

    /** The messages of the pod's events, as `kubectl describe pod` lists them. */
    async function eventsOf(pod: KubeObject): Promise<string[]> {
        const events = await cluster.api.list(
            `/api/v1/namespaces/${namespace}/events?fieldSelector=${encodeURIComponent(`involvedObject.uid=${pod.metadata.uid}`)}`,
        );
        return events.map((e) => `${e.reason}: ${e.message}`);
    }

    async function waitForEvent(pod: KubeObject, pattern: RegExp): Promise<string[]> {
        let seen: string[] = [];
        await waitFor(
            `an event of ${pod.metadata.name} matching ${pattern}`,
            PROBE_WAIT_MS,
            async () => (seen = await eventsOf(pod)).some((m) => pattern.test(m)),
            500,
        ).catch((e: Error) => {
            throw new Error(`${e.message}; events: ${JSON.stringify(seen)}`);
        });
        return seen;
    }

    /** What the container printed (the agent's container log, which `kubectl logs` would show). */
    function logOf(pod: KubeObject): string {
        const dir = path.join(cluster.dir, "agent", "pods", `${namespace}_${pod.metadata.name}_${pod.metadata.uid}`);
        const file = path.join(dir, `${(pod.spec.containers as IContainer[])[0].name}.log`);
        return fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
    }

    async function urlOf(pod: KubeObject): Promise<{ url: string; close: () => Promise<void> }> {
        const port = (pod.spec.containers as IContainer[])[0].ports?.[0]?.containerPort as number;
        const portal = await openPortal(cluster.controlPlane.netnsPath, cluster.dir, [{ host: pod.status.podIP, port }]);
        return { url: portal.urls[0], close: () => portal.close() };
    }

    it("a Redis address with a scheme in A8_STORE_ADDRESS: the registry is Ready and lists [] but every registration fails", async () => {
        const d = await deployWrong("registry", (c) => (env(c, "A8_STORE_ADDRESS").value = `redis://${env(c, "A8_STORE_ADDRESS").value}`));
        const pod = await podOf(d, "Ready", isReady);
        const registry = await urlOf(pod);
        try {
            const report = await runSidecarJourney({ ...plane.target, registryUrl: registry.url }, { timeoutMs: 20_000 });
            const register = report.steps.find((s) => s.name === "registry: register instances");
            assert.equal(report.ok, false);
            assert.equal(register?.ok, false, `registration should fail: ${JSON.stringify(report.steps)}`);
        } finally {
            await registry.close();
        }
    });

    it("the journey removes what it registered when a later step fails (here: a controller URL nothing answers)", async () => {
        const [closed] = await freePorts(1);
        const report = await runSidecarJourney({ ...plane.target, controllerUrl: `http://127.0.0.1:${closed}` }, { timeoutMs: 20_000 });
        assert.equal(report.ok, false);
        const failed = report.steps.find((s) => !s.ok);
        assert.equal(failed?.name, "controller: create a routing rule", JSON.stringify(report.steps));
        const cleanup = report.steps[report.steps.length - 1];
        assert.ok(cleanup.ok && /2 instances|deregistered.*deregistered/.test(cleanup.detail), JSON.stringify(cleanup));
        const service = /instances of (\S+):/.exec(report.steps[0].detail)?.[1];
        const left = await fetch(`${plane.target.registryUrl}/api/v1/services/${service}`, { signal: AbortSignal.timeout(5000) });
        const body = (left.status === 200 ? await left.json() : {}) as { instances?: unknown[] };
        assert.deepEqual(body.instances ?? [], [], `instances left behind: ${JSON.stringify(body)}`);
    });

    it("a misspelled env name (A8_DATABASE_TYPE): the controller keeps rules in memory and its next pod has lost them", async () => {
        const d = await deployWrong("controller", (c) => (env(c, "A8_DATABASE_TYPE").name = "A8_DATABASE_KIND"));
        let controller = await urlOf(await podOf(d, "Ready", isReady));
        const target = { ...plane.target, controllerUrl: controller.url };
        const written = await writeRuleAndInstance(target);
        try {
            await controller.close();
            await replacePods(cluster.api, namespace, [d], READY_TIMEOUT_MS);
            controller = await urlOf(await podOf(d, "Ready", isReady));
            const problems = await missingAfterRestart(
                { target: { ...target, controllerUrl: controller.url }, controllers: [controller], registries: [] },
                written,
                { instances: false },
            );
            assert.ok(
                problems.some((x) => x.includes(`rule ${written.ruleId} is gone`)),
                `the rule should be lost: ${JSON.stringify(problems)}`,
            );
        } finally {
            await removeWritten({ ...target, controllerUrl: controller.url }, written);
            await controller.close();
        }
    });

    it("a wrong readiness probe path: running and live, never Ready, the kubelet's event names the 404", async () => {
        const d = await deployWrong("controller", (c) => (c.readinessProbe!.httpGet!.path = "/healthz"));
        const pod = await podOf(d, "running", (p) => containerStatus(p)?.state?.running !== undefined);
        await waitForEvent(pod, /^Unhealthy: Readiness probe failed: HTTP probe failed with statuscode: 404$/);
        const now = await podOf(d, "seen again", () => true);
        assert.equal(isReady(now), false);
        assert.equal(containerStatus(now)?.restartCount, 0, "the liveness probe still passes");
    });

    it("a readiness probe on a port the service does not listen on: never Ready, the event says why", async () => {
        const d = await deployWrong("registry", (c) => (c.readinessProbe!.httpGet!.port = 8081));
        const pod = await podOf(d, "running", (p) => containerStatus(p)?.state?.running !== undefined);
        await waitForEvent(pod, /^Unhealthy: Readiness probe failed: Get "http:\/\/[\d.]+:8081\/\S*": ECONNREFUSED$/);
        assert.equal(isReady(await podOf(d, "seen again", () => true)), false);
    });

    it("a secretKeyRef to a key the Secret does not have: CreateContainerConfigError naming the key and the Secret", async () => {
        const d = await deployWrong("controller", (c) => (env(c, "A8_DATABASE_PASSWORD").valueFrom.secretKeyRef.key = "passwd"));
        const pod = await podOf(d, "a waiting reason", (p) => containerStatus(p)?.state?.waiting?.reason === "CreateContainerConfigError");
        assert.match(String(containerStatus(pod)?.state.waiting.message), /"passwd".*"redis-auth"/);
    });

    it("runAsNonRoot without a runAsUser: admitted, then the kubelet refuses the image's root user", async () => {
        const d = await deployWrong("registry", (c, pod) => {
            delete pod.securityContext!.runAsUser;
            delete c.securityContext!.runAsUser;
        });
        const pod = await podOf(d, "a waiting reason", (p) => containerStatus(p)?.state?.waiting?.reason === "CreateContainerConfigError");
        assert.match(String(containerStatus(pod)?.state.waiting.message), /runAsNonRoot is set but the image runs as root/);
    });

    it("a privileged port under the rendered security context: the controller cannot bind, is never Ready nor live", async () => {
        const d = await deployWrong("controller", (c) => {
            c.env = [...(c.env ?? []), { name: "A8_API_PORT", value: "80" }];
            c.ports = [{ name: "http", containerPort: 80, protocol: "TCP" }];
        });
        const pod = await podOf(d, "running", (p) => containerStatus(p)?.state?.running !== undefined);
        // Upstream logs the failed bind and keeps running without a listener: only the probes notice.
        await waitFor("the controller to log its failed bind", 20_000, async () => /bind: permission denied/.test(logOf(pod)), 250);
        await waitForEvent(pod, /^Unhealthy: Liveness probe failed: dial tcp [\d.]+:80: ECONNREFUSED$/);
        const events = await waitForEvent(pod, /^Unhealthy: Readiness probe failed/);
        assert.equal(isReady(await podOf(d, "seen again", () => true)), false, JSON.stringify(events));
    });

    it("a workingDir other than the image's: the controller does not find rules-schema.json, exits and is restarted", async () => {
        const d = await deployWrong("controller", (c) => (c.workingDir = "/"));
        const pod = await podOf(d, "restarted after exiting", (p) => (containerStatus(p)?.restartCount ?? 0) >= 1);
        const status = containerStatus(pod) as KubeObject;
        assert.notEqual(status.lastState?.terminated?.exitCode, 0, JSON.stringify(status));
        assert.equal(isReady(pod), false);
        assert.match(logOf(pod), /rules-schema\.json/);
    });
});
