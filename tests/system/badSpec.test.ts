/**
 * The system tests catch what deploys fine and fails in production: each test here renders the dev
 * stack, changes ONE thing in a copy of the rendered controller or registry container (as a wrong
 * program would render it) and expects the real service to fail the way it would in a cluster.
 */
import { strict as assert } from "assert";
import type { IContainer } from "kubernetes-models/v1/Container";
import type { IPodSpec } from "kubernetes-models/v1/PodSpec";
import { Amalgam8Instance } from "../../tools/loopback/amalgam8";
import { Amalgam8Service } from "../../tools/loopback/prerequisites";
import { freePorts, waitFor } from "../../tools/loopback/process";
import { LoopbackControlPlane, RenderedStack, startRenderedControlPlane } from "../../tools/loopback/stack";
import { runSidecarJourney } from "../../tools/smoke/journey";
import { missingAfterRestart, removeWritten, renderedStack, restartServices, writeRuleAndInstance } from "./support";

type Mutation = (service: Amalgam8Service, container: IContainer, pod: IPodSpec) => void;

function only(service: Amalgam8Service, change: (container: IContainer, pod: IPodSpec) => void): Mutation {
    return (s, c, p) => {
        if (s === service) change(c, p);
    };
}

function env(container: IContainer, name: string): { name: string; value?: string; valueFrom?: any } {
    const e = container.env?.find((x) => x.name === name);
    if (!e)
        throw new Error(
            `the rendered ${container.name} container has no env ${name}: ${(container.env ?? []).map((x) => x.name).join(", ")}`,
        );
    return e;
}

/** Waits until the service answers its liveness probe (it is up), then makes ONE readiness probe. */
async function readinessOnceUp(s: Amalgam8Instance): Promise<{ ok: boolean; detail: string }> {
    await waitFor(`${s.service} to pass its liveness probe`, 15000, async () => (await s.probe("liveness")).ok, 200);
    return s.probe("readiness");
}

describe("system: a wrong rendered container fails the system tests (real services)", function () {
    let stack: RenderedStack;
    let plane: LoopbackControlPlane | undefined;

    before(async function () {
        this.timeout(60000);
        stack = await renderedStack("dev");
    });

    afterEach(async function () {
        this.timeout(30000);
        await plane?.stop();
        plane = undefined;
    });

    const start = async (mutate: Mutation): Promise<LoopbackControlPlane> =>
        (plane = await startRenderedControlPlane(stack, { mutate, maxReplicas: 1 }));

    it(
        "a Redis address with a scheme in A8_STORE_ADDRESS: " + "the registry is Ready and lists [] but every registration fails",
        async function () {
            this.timeout(60000);
            const p = await start(
                only("registry", (c) => (env(c, "A8_STORE_ADDRESS").value = `redis://${env(c, "A8_STORE_ADDRESS").value}`)),
            );
            await p.waitReady();
            const report = await runSidecarJourney(p.target, { timeoutMs: 20000 });
            const register = report.steps.find((s) => s.name === "registry: register instances");
            assert.equal(report.ok, false);
            assert.equal(register?.ok, false, `registration should fail: ${JSON.stringify(report.steps)}`);
        },
    );

    it("the journey removes what it registered when a later step fails (here: a controller URL nothing answers)", async function () {
        this.timeout(60000);
        const p = await start(() => undefined);
        await p.waitReady();
        const [closed] = await freePorts(1);
        const unreachable = `http://127.0.0.1:${closed}`;
        const report = await runSidecarJourney({ ...p.target, controllerUrl: unreachable }, { timeoutMs: 20000 });
        assert.equal(report.ok, false);
        const failed = report.steps.find((s) => !s.ok);
        assert.equal(failed?.name, "controller: create a routing rule", JSON.stringify(report.steps));
        const cleanup = report.steps[report.steps.length - 1];
        assert.ok(cleanup.ok && /2 instances|deregistered.*deregistered/.test(cleanup.detail), JSON.stringify(cleanup));
        const service = /instances of (\S+):/.exec(report.steps[0].detail)?.[1];
        const left = await fetch(`${p.target.registryUrl}/api/v1/services/${service}`, { signal: AbortSignal.timeout(5000) });
        const body = (left.status === 200 ? await left.json() : {}) as { instances?: unknown[] };
        assert.deepEqual(body.instances ?? [], [], `instances left behind: ${JSON.stringify(body)}`);
    });

    it("a misspelled env name (A8_DATABASE_TYPE): the controller keeps rules in memory and loses them on restart", async function () {
        this.timeout(60000);
        const p = await start(only("controller", (c) => (env(c, "A8_DATABASE_TYPE").name = "A8_DATABASE_KIND")));
        await p.waitReady();
        const written = await writeRuleAndInstance(p);
        try {
            await restartServices(p);
            const problems = await missingAfterRestart(p, written, { instances: false });
            assert.ok(
                problems.some((x) => x.includes(`rule ${written.ruleId} is gone`)),
                `the rule should be lost: ${JSON.stringify(problems)}`,
            );
        } finally {
            await removeWritten(p, written);
        }
    });

    it("a wrong readiness probe path: never Ready", async function () {
        this.timeout(60000);
        const p = await start(only("controller", (c) => (c.readinessProbe!.httpGet!.path = "/healthz")));
        const r = await readinessOnceUp(p.controllers[0]);
        assert.equal(r.ok, false, r.detail);
        assert.match(r.detail, /404/);
    });

    it("a readiness probe on a port the service does not listen on: never Ready", async function () {
        this.timeout(60000);
        const p = await start(only("registry", (c) => (c.readinessProbe!.httpGet!.port = 8081)));
        const r = await readinessOnceUp(p.registries[0]);
        assert.equal(r.ok, false, r.detail);
    });

    it("a secretKeyRef to a key the Secret does not have: the container cannot be created", async function () {
        this.timeout(30000);
        await assert.rejects(
            start(only("controller", (c) => (env(c, "A8_DATABASE_PASSWORD").valueFrom.secretKeyRef.key = "passwd"))),
            /A8_DATABASE_PASSWORD: secretKeyRef names key "passwd" of Secret "redis-auth", which the stack does not render/,
        );
    });

    it("runAsNonRoot without a runAsUser: the kubelet refuses the image's root user", async function () {
        this.timeout(30000);
        await assert.rejects(
            start(
                only("registry", (c, pod) => {
                    delete pod.securityContext!.runAsUser;
                    delete c.securityContext!.runAsUser;
                }),
            ),
            /runAsNonRoot is set but the image runs as root/,
        );
    });

    it(
        "a privileged port under the rendered security context (non-root, no capabilities): " +
            "the controller cannot bind, is never Ready nor live",
        async function () {
            this.timeout(60000);
            const p = await start(
                only("controller", (c) => {
                    c.env = [...(c.env ?? []), { name: "A8_API_PORT", value: "80" }];
                    c.ports = [{ name: "http", containerPort: 80, protocol: "TCP" }];
                }),
            );
            // Upstream logs the failed bind and keeps running without a listener: only the probes notice.
            const c = p.controllers[0];
            await waitFor("the controller to log its failed bind", 15000, async () => /bind: permission denied/.test(c.logs(20)));
            assert.ok(c.running);
            assert.equal((await c.probe("readiness")).ok, false);
            assert.equal((await c.probe("liveness")).ok, false);
        },
    );

    it("a workingDir other than the image's: the controller does not find rules-schema.json and exits", async function () {
        this.timeout(60000);
        const p = await start(only("controller", (c) => (c.workingDir = "/")));
        await assert.rejects(p.controllers[0].waitReady(20000), /exited before it was Ready/);
    });
});
