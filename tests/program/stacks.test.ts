import { strict as assert } from "assert";
import * as fs from "fs";
import * as jwt from "jsonwebtoken";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { DEFAULTS, PROJECT } from "../../components/config";
import { runProgram } from "../../cli/program/runProgram";
import { REPO_ROOT } from "../../cli/repoRoot";
import { StackConfig, listStacks, loadStackConfig } from "../../cli/program/stackConfig";
import { K8sObject } from "../../policy/lib/k8s";
import { validateSchema } from "../../cli/check/schema";
import { Rendered, renderStack, rejection, stackConfig } from "../support/program";

/** The containers of a workload's pod template. */
const registered = () => ((pulumi.runtime as any).getMonitor()?.getRegisteredResources()?.size ?? 0) as number;

function containers(workload: K8sObject): K8sObject[] {
    return workload.spec.template.spec.containers;
}

function env(workload: K8sObject, container = 0): Record<string, K8sObject> {
    const out: Record<string, K8sObject> = {};
    for (const e of containers(workload)[container].env ?? []) out[e.name] = e;
    return out;
}

/** Follows a secretKeyRef to the Secret in the graph, as the kubelet would. */
function secretValue(r: Rendered, ref: { name: string; key: string }, namespace: string): string {
    const secret = r.get("Secret", ref.name);
    assert.equal(secret.metadata.namespace, namespace, `Secret ${ref.name} is not in ${namespace}`);
    const value = secret.stringData?.[ref.key] ?? secret.data?.[ref.key];
    assert.ok(typeof value === "string" && value.length > 0, `Secret ${ref.name} has no key ${ref.key}`);
    return value;
}

/** host:port must lead to a Service of the graph that serves that port. */
function assertServiceServes(r: Rendered, host: string, port: number) {
    const m = /^([a-z0-9-]+)\.([a-z0-9-]+)\.svc\.cluster\.local$/.exec(host);
    assert.ok(m, `${host} is not an in-cluster Service FQDN`);
    const service = r.get("Service", m[1]);
    assert.equal(service.metadata.namespace, m[2]);
    assert.ok(
        service.spec.ports.some((p: K8sObject) => p.port === port),
        `Service ${m[1]} does not serve port ${port}`,
    );
}

/** Resolves a Service's targetPort to the containerPort of the pods it selects. */
function targetContainerPort(r: Rendered, serviceName: string, workload: K8sObject): number {
    const service = r.get("Service", serviceName);
    const labels = workload.spec.template.metadata.labels;
    for (const [k, v] of Object.entries(service.spec.selector))
        assert.equal(labels[k], v, `Service ${serviceName} does not select ${workload.metadata.name}`);
    const target = service.spec.ports[0].targetPort;
    const ports: K8sObject[] = containers(workload).flatMap((c) => c.ports ?? []);
    const port = typeof target === "number" ? ports.find((p) => p.containerPort === target) : ports.find((p) => p.name === target);
    assert.ok(port, `targetPort ${target} of ${serviceName} resolves to no container port`);
    return port.containerPort;
}

describe("the program under mocks, with the real stack files", function () {
    this.timeout(60_000);
    /** The shipped stacks, whose shapes the tests below describe. */
    const stacks: Record<string, Rendered> = {};
    /** Every stack file of the repository: a stack added by copying one is covered too. */
    const all: Record<string, Rendered> = {};
    before(async () => {
        for (const s of listStacks(REPO_ROOT)) all[s] = await renderStack(stackConfig(s));
        for (const s of ["dev", "staging", "prod"]) stacks[s] = all[s];
    });

    it("every Kubernetes object of every stack of the repository validates against the OpenAPI schema", () => {
        assert.ok(Object.keys(all).length >= 3);
        for (const [stack, r] of Object.entries(all)) {
            assert.ok(r.objects.length > 10, `${stack}: too few objects`);
            for (const o of r.objects) {
                const result = validateSchema(o);
                assert.equal(result.status, "valid", `${stack} ${o.kind}/${o.metadata?.name}: ${JSON.stringify(result)}`);
            }
        }
    });

    it("the schema validator really rejects a malformed object", () => {
        const deployment = structuredClone(stacks.prod.get("Deployment", "controller"));
        deployment.spec.replicas = "three";
        assert.equal(validateSchema(deployment).status, "invalid");
    });

    it("names every object explicitly and puts it in the stack's namespace, in every stack", () => {
        for (const [stack, r] of Object.entries(all)) {
            const ns = r.get("Namespace", r.run.outputs.namespace.value as string).metadata.name;
            for (const o of r.objects.filter((x) => x.kind !== "Namespace")) {
                assert.ok(o.metadata?.name, `${stack}: ${o.kind} without a name`);
                assert.equal(o.metadata.namespace, ns, `${stack}: ${o.kind}/${o.metadata.name}`);
            }
        }
    });

    describe("dev: a laptop cluster", () => {
        it("runs the staging and prod code path on one standalone Redis node with AUTH", () => {
            const r = stacks.dev;
            const controller = env(r.get("Deployment", "controller"));
            const registry = env(r.get("Deployment", "registry"));
            assert.equal(controller.A8_DATABASE_TYPE.value, "redis");
            assert.equal(controller.A8_DATABASE_HOST.value, "redis://redis.amalgam8-dev.svc.cluster.local:6379");
            assert.equal(controller.A8_DATABASE_WAIT_REPLICAS, undefined, "a standalone Redis has no replica to wait for");
            assert.equal(registry.A8_STORE.value, "redis");
            assert.equal(registry.A8_STORE_ADDRESS.value, "redis.amalgam8-dev.svc.cluster.local:6379");
            assertServiceServes(r, "redis.amalgam8-dev.svc.cluster.local", 6379);
            secretValue(r, controller.A8_DATABASE_PASSWORD.valueFrom.secretKeyRef, "amalgam8-dev");
            assert.deepEqual(registry.A8_STORE_PASSWORD.valueFrom, controller.A8_DATABASE_PASSWORD.valueFrom);
            const node = r.get("StatefulSet", "redis");
            assert.equal(node.spec.replicas, 1);
            assert.equal(node.spec.volumeClaimTemplates[0].spec.resources.requests.storage, "1Gi");
            assert.match(r.mountedConfigMap(node).data["redis.conf"], /^requirepass /m);
            assert.equal(r.find("StatefulSet", "redis-node"), undefined, "no Sentinel set on a laptop");
            assert.equal(r.find("Deployment", "redis-haproxy"), undefined);
            assert.equal(r.run.outputs.redisAddress.value, "redis.amalgam8-dev.svc.cluster.local:6379");
            assert.equal(r.run.outputs.redisPassword.secret, true);
        });
        it("runs one replica each on the upstream NodePorts", () => {
            const r = stacks.dev;
            assert.equal(r.get("Deployment", "controller").spec.replicas, 1);
            assert.equal(r.get("Deployment", "registry").spec.replicas, 1);
            const c = r.get("Service", "controller").spec;
            const g = r.get("Service", "registry").spec;
            assert.equal(c.type, "NodePort");
            assert.deepEqual([c.ports[0].port, c.ports[0].nodePort], [6080, 31200]);
            assert.deepEqual([g.ports[0].port, g.ports[0].nodePort], [5080, 31300]);
            assert.equal(r.run.outputs.controllerEndpoint.value, "http://<node-address>:31200");
            assert.equal(r.run.outputs.registryEndpoint.value, "http://<node-address>:31300");
        });
    });

    describe("staging: Redis HA, several replicas", () => {
        it("wires the controller to Redis with the exact Amalgam8 contract", () => {
            const r = stacks.staging;
            const e = env(r.get("Deployment", "controller"));
            assert.equal(e.A8_DATABASE_TYPE.value, "redis");
            assert.equal(e.A8_DATABASE_HOST.value, "redis://redis.amalgam8-staging.svc.cluster.local:6379");
            assert.equal(e.A8_DATABASE_PASSWORD.value, undefined, "the password must never be a literal");
            assert.deepEqual(e.A8_DATABASE_PASSWORD.valueFrom, { secretKeyRef: { name: "redis-auth", key: "password" } });
            assert.equal(e.A8_LOG_LEVEL.value, "info");
            assert.equal(e.A8_DATABASE_WAIT_REPLICAS.value, "1", "rule writes wait for a replica of the HA Redis");
            const url = new URL(e.A8_DATABASE_HOST.value);
            assert.equal(url.protocol, "redis:");
            assertServiceServes(r, url.hostname, Number(url.port));
            secretValue(r, e.A8_DATABASE_PASSWORD.valueFrom.secretKeyRef, "amalgam8-staging");
        });
        it("wires the registry to Redis with host:port and no scheme", () => {
            const r = stacks.staging;
            const e = env(r.get("Deployment", "registry"));
            assert.equal(e.A8_STORE.value, "redis");
            assert.equal(e.A8_STORE_ADDRESS.value, "redis.amalgam8-staging.svc.cluster.local:6379");
            assert.deepEqual(e.A8_STORE_PASSWORD.valueFrom, { secretKeyRef: { name: "redis-auth", key: "password" } });
            const [host, port] = e.A8_STORE_ADDRESS.value.split(":");
            assertServiceServes(r, host, Number(port));
            assert.equal(e.A8_AUTH_MODE, undefined, "staging runs without auth");
        });
        it("gives both services the same password the Redis pods read", () => {
            const r = stacks.staging;
            const nodes = r.get("StatefulSet", "redis-node");
            const volume = nodes.spec.template.spec.volumes.find((v: K8sObject) => v.secret);
            assert.equal(volume.secret.secretName, "redis-auth");
            assert.equal(volume.secret.items[0].key, "password");
            const proxy = r.get("Deployment", "redis-haproxy");
            assert.deepEqual(env(proxy).AUTH.valueFrom, { secretKeyRef: { name: "redis-auth", key: "password" } });
        });
        it("runs two replicas of each service and three Redis nodes behind HAProxy", () => {
            const r = stacks.staging;
            assert.equal(r.get("Deployment", "controller").spec.replicas, 2);
            assert.equal(r.get("Deployment", "registry").spec.replicas, 2);
            assert.equal(r.get("StatefulSet", "redis-node").spec.replicas, 3);
            assert.equal(r.get("Deployment", "redis-haproxy").spec.replicas, 2);
            assert.equal(r.get("Service", "redis").spec.type, "ClusterIP");
            assert.equal(r.run.outputs.redisAddress.value, "redis.amalgam8-staging.svc.cluster.local:6379");
        });
        it("names the Redis ConfigMap after its files, so that an edit rolls the pods instead of replacing the StatefulSet", async () => {
            const before = stacks.staging;
            const redis = JSON.parse(stackConfig("staging").config[`${PROJECT}:redis`]);
            const after = await renderStack(stackConfig("staging", { redis: { ...redis, sentinel: { downAfterMilliseconds: 3000 } } }));
            const mounted = (r: Rendered) =>
                [r.get("StatefulSet", "redis-node"), r.get("Deployment", "redis-haproxy")].map((w) => r.mountedConfigMap(w).metadata.name);
            const [nodesBefore, proxyBefore] = mounted(before);
            const [nodesAfter, proxyAfter] = mounted(after);
            assert.equal(nodesBefore, proxyBefore, "one ConfigMap for the nodes and HAProxy");
            assert.equal(nodesAfter, proxyAfter);
            assert.match(nodesBefore, /^redis-ha-config-[0-9a-f]{10}$/);
            assert.notEqual(nodesAfter, nodesBefore, "a changed sentinel.conf must get a new name");
            assert.match(
                after.mountedConfigMap(after.get("StatefulSet", "redis-node")).data["sentinel.conf"],
                /down-after-milliseconds \S+ 3000/,
            );
            const again = await renderStack(stackConfig("staging"));
            assert.deepEqual(mounted(again), [nodesBefore, proxyBefore], "the same files, the same name");
        });
        it("exposes ClusterIP Services only, so there is no external endpoint", () => {
            const r = stacks.staging;
            for (const s of r.ofKind("Service"))
                assert.ok([undefined, "ClusterIP"].includes(s.spec.type), `${s.metadata.name} is ${s.spec.type}`);
            assert.equal(r.run.outputs.controllerEndpoint, undefined);
            assert.equal(r.run.outputs.registryEndpoint, undefined);
        });
    });

    describe("prod: JWT auth, load balancers, autoscaled registry", () => {
        it("turns on JWT auth from a Secret and signs an admin token with it", () => {
            const r = stacks.prod;
            for (const name of ["controller", "registry"]) {
                const e = env(r.get("Deployment", name));
                assert.equal(e.A8_AUTH_MODE.value, "jwt");
                assert.deepEqual(e.A8_JWT_SECRET.valueFrom, { secretKeyRef: { name: "a8-auth", key: "jwt-secret" } });
            }
            const secret = secretValue(r, { name: "a8-auth", key: "jwt-secret" }, "amalgam8");
            const token = r.run.outputs.adminToken;
            assert.equal(token.secret, true, "adminToken must be a secret output");
            const claims = jwt.verify(token.value as string, secret, { algorithms: ["HS256"] }) as jwt.JwtPayload;
            assert.equal(claims.namespace, "admin");
        });
        it("publishes the services on load balancers and reports their addresses", () => {
            const r = stacks.prod;
            assert.equal(r.get("Service", "controller").spec.type, "LoadBalancer");
            assert.equal(r.get("Service", "controller").spec.ports[0].nodePort, undefined);
            assert.equal(r.run.outputs.controllerEndpoint.value, "http://192.0.2.10:6080");
            assert.equal(r.run.outputs.registryEndpoint.value, "http://192.0.2.10:5080");
        });
        it("lets an HPA own the registry's replica count", () => {
            const r = stacks.prod;
            const hpa = r.get("HorizontalPodAutoscaler", "registry");
            assert.equal(hpa.apiVersion, "autoscaling/v2");
            assert.deepEqual(hpa.spec.scaleTargetRef, { apiVersion: "apps/v1", kind: "Deployment", name: "registry" });
            assert.equal(hpa.spec.minReplicas, 3);
            assert.equal(hpa.spec.maxReplicas, 10);
            assert.equal(r.get("Deployment", "registry").spec.replicas, undefined, "the Deployment must leave replicas to the HPA");
            assert.equal(r.get("Deployment", "controller").spec.replicas, 3);
        });
        it("spreads across zones as well as nodes", () => {
            const tsc = stacks.prod.get("Deployment", "controller").spec.template.spec.topologySpreadConstraints;
            assert.deepEqual(
                tsc.map((t: K8sObject) => t.topologyKey),
                ["kubernetes.io/hostname", "topology.kubernetes.io/zone"],
            );
        });
    });

    it("serves each API Service port on container port 8080 and probes the real endpoints", () => {
        for (const r of [stacks.staging, stacks.prod]) {
            const controller = r.get("Deployment", "controller");
            const registry = r.get("Deployment", "registry");
            assert.equal(r.get("Service", "controller").spec.ports[0].port, 6080);
            assert.equal(r.get("Service", "registry").spec.ports[0].port, 5080);
            assert.equal(targetContainerPort(r, "controller", controller), 8080);
            assert.equal(targetContainerPort(r, "registry", registry), 8080);
            const c = containers(controller)[0];
            const g = containers(registry)[0];
            const http = (probe: K8sObject) => ({ path: probe.httpGet?.path, port: probe.httpGet?.port });
            assert.deepEqual(http(c.readinessProbe), { path: "/health", port: "http" });
            assert.deepEqual(c.livenessProbe.tcpSocket, { port: "http" });
            assert.deepEqual(http(g.readinessProbe), { path: "/uptime", port: "http" });
            assert.deepEqual(http(g.livenessProbe), { path: "/", port: "http" });
            assert.equal(c.ports.find((p: K8sObject) => p.name === "http").containerPort, 8080);
            assert.equal(c.image, "amalgam8/a8-controller:1.1.0");
            assert.equal(g.image, "amalgam8/a8-registry:1.1.0");
        }
    });

    it("keeps capacity during rollouts and drains, and runs the restricted profile", () => {
        for (const [stack, r] of Object.entries(stacks)) {
            for (const name of ["controller", "registry"]) {
                const d = r.get("Deployment", name);
                assert.deepEqual(
                    d.spec.strategy,
                    { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
                    `${stack} ${name}`,
                );
                const pdb = r.get("PodDisruptionBudget", name);
                assert.equal(pdb.spec.maxUnavailable, 1);
                assert.deepEqual(pdb.spec.selector.matchLabels, d.spec.selector.matchLabels);
                const pod = d.spec.template.spec;
                assert.equal(pod.automountServiceAccountToken, false);
                assert.equal(pod.securityContext.runAsNonRoot, true);
                assert.notEqual(pod.securityContext.runAsUser, 0);
                assert.equal(pod.securityContext.seccompProfile.type, "RuntimeDefault");
                const sc = pod.containers[0].securityContext;
                assert.deepEqual([sc.allowPrivilegeEscalation, sc.readOnlyRootFilesystem, sc.capabilities.drop], [false, true, ["ALL"]]);
                assert.ok(pod.containers[0].resources.requests.cpu && pod.containers[0].resources.limits.memory);
                assert.equal(pod.topologySpreadConstraints[0].topologyKey, "kubernetes.io/hostname");
                assert.deepEqual(pod.topologySpreadConstraints[0].labelSelector.matchLabels, d.spec.selector.matchLabels);
            }
        }
    });

    it("lets only the controller and the registry reach Redis", () => {
        const r = stacks.staging;
        const proxyPolicy = r.get("NetworkPolicy", "redis-haproxy");
        const from = proxyPolicy.spec.ingress[0].from[0].podSelector;
        assert.deepEqual(from.matchExpressions, [{ key: "app.kubernetes.io/name", operator: "In", values: ["controller", "registry"] }]);
        const nodesPolicy = r.get("NetworkPolicy", "redis-node");
        const allowed = nodesPolicy.spec.ingress[0].from.map((f: K8sObject) => f.podSelector.matchLabels["app.kubernetes.io/name"]);
        assert.deepEqual(allowed.sort(), ["redis-haproxy", "redis-node"]);
    });

    it("runs HAProxy and the Redis nodes under ServiceAccounts of their own, neither mounting a token", () => {
        for (const stack of ["staging", "prod"]) {
            const r = stacks[stack];
            const pods = { "redis-haproxy": r.get("Deployment", "redis-haproxy"), redis: r.get("StatefulSet", "redis-node") };
            for (const [account, workload] of Object.entries(pods)) {
                const pod = workload.spec.template.spec;
                assert.equal(pod.serviceAccountName, account, `${stack} ${workload.metadata.name}`);
                assert.equal(pod.automountServiceAccountToken, false);
                const serviceAccount = r.get("ServiceAccount", account);
                assert.equal(serviceAccount.automountServiceAccountToken, false);
                assert.equal(serviceAccount.metadata.labels["app.kubernetes.io/name"], workload.metadata.labels["app.kubernetes.io/name"]);
            }
        }
    });

    it("exports the documented outputs with real values, secrets as secrets", () => {
        const expected = ["namespace", "controllerUrl", "registryUrl", "redisAddress", "sidecarEnv", "redisPassword"];
        for (const [stack, r] of Object.entries(stacks)) {
            const outputs = r.run.outputs;
            for (const [name, o] of Object.entries(outputs)) {
                assert.ok(!JSON.stringify(o.value).includes("undefined"), `${stack}: ${name} = ${JSON.stringify(o.value)}`);
            }
            for (const name of expected) assert.ok(outputs[name], `${stack}: no ${name}`);
            assert.equal(outputs.controllerUrl.value, `http://controller.${outputs.namespace.value}.svc.cluster.local:6080`);
            assert.equal(outputs.registryUrl.value, `http://registry.${outputs.namespace.value}.svc.cluster.local:5080`);
            assert.deepEqual(outputs.sidecarEnv.value, {
                A8_CONTROLLER_URL: outputs.controllerUrl.value,
                A8_REGISTRY_URL: outputs.registryUrl.value,
            });
            if (outputs.redisPassword) assert.equal(outputs.redisPassword.secret, true, `${stack}: redisPassword must be secret`);
            assert.equal(outputs.controllerUrl.secret, false);
        }
        assert.equal(stacks.staging.run.outputs.adminToken, undefined, "no token without jwt");
    });
});

describe("the program in the other storage modes", function () {
    this.timeout(60_000);

    it("in-memory storage stays an option: no Redis, one replica each", async () => {
        const r = await renderStack(stackConfig("dev", { storage: "memory", redis: undefined }));
        assert.deepEqual(env(r.get("Deployment", "controller")).A8_DATABASE_TYPE, { name: "A8_DATABASE_TYPE", value: "memory" });
        assert.deepEqual(env(r.get("Deployment", "registry")).A8_STORE, { name: "A8_STORE", value: "inmem" });
        assert.equal(env(r.get("Deployment", "controller")).A8_DATABASE_HOST, undefined);
        assert.equal(r.ofKind("StatefulSet").length, 0);
        assert.equal(r.ofKind("Secret").length, 0);
        assert.equal(r.get("Deployment", "registry").spec.replicas, 1);
        assert.equal(r.run.outputs.redisAddress, undefined);
        assert.equal(r.run.outputs.redisPassword, undefined);
    });

    it("standalone Redis: one persistent node with AUTH from the Secret, reachable only by the services", async () => {
        const r = await renderStack(stackConfig("staging", { redis: { mode: "standalone", storageSize: "5Gi" } }));
        const sts = r.get("StatefulSet", "redis");
        assert.equal(sts.spec.replicas, 1);
        assert.equal(sts.spec.volumeClaimTemplates[0].spec.resources.requests.storage, "5Gi");
        const conf = r.mountedConfigMap(sts).data["redis.conf"];
        assert.match(conf, /^appendonly yes$/m);
        assert.match(conf, /^requirepass /m);
        assert.equal(r.get("Service", "redis").spec.type, "ClusterIP");
        assert.equal(env(r.get("Deployment", "registry")).A8_STORE_ADDRESS.value, "redis.amalgam8-staging.svc.cluster.local:6379");
        assert.equal(targetContainerPort(r, "redis", sts), 6379);
        for (const o of r.objects) assert.equal(validateSchema(o).status, "valid", `${o.kind}/${o.metadata.name}`);
    });

    it("external Redis: no Redis in the cluster, the given address, egress allowed to it", async () => {
        const r = await renderStack(
            stackConfig("staging", { redis: { mode: "external", address: "10.20.30.40:6380" }, redisPassword: "ManagedRedisPassw0rd123" }, [
                "redisPassword",
            ]),
        );
        assert.equal(r.ofKind("StatefulSet").length, 0);
        assert.equal(r.find("Service", "redis"), undefined);
        const e = env(r.get("Deployment", "controller"));
        assert.equal(e.A8_DATABASE_HOST.value, "redis://10.20.30.40:6380");
        assert.equal(env(r.get("Deployment", "registry")).A8_STORE_ADDRESS.value, "10.20.30.40:6380");
        assert.equal(secretValue(r, { name: "redis-auth", key: "password" }, "amalgam8-staging"), "ManagedRedisPassw0rd123");
        const egress = r.get("NetworkPolicy", "controller").spec.egress;
        assert.ok(egress.some((rule: K8sObject) => rule.to?.[0]?.ipBlock?.cidr === "10.20.30.40/32" && rule.ports[0].port === 6380));
        assert.equal(r.run.outputs.redisAddress.value, "10.20.30.40:6380");
        assert.equal(r.run.outputs.redisPassword.secret, true);
    });

    it("works as a library with only a few arguments, the rest defaulted", async () => {
        const run = await runProgram(stackConfig("dev"), path.join(__dirname, "..", "fixtures", "programs", "library.ts"));
        assert.equal(run.outputs.controllerUrl.value, "http://controller.mesh.svc.cluster.local:6080");
        assert.equal(run.outputs.redisAddress.value, "redis.mesh.svc.cluster.local:6379");
        assert.equal(run.outputs.adminToken.secret, true);
        const types = run.resources.map((r) => r.type);
        assert.ok(types.includes("amalgam8:redis:RedisHa"), "the default Redis mode is ha");
        const deployments = run.resources.filter((r) => r.type === "kubernetes:apps/v1:Deployment");
        assert.deepEqual(deployments.map((d) => [d.inputs.metadata.name, d.inputs.spec.replicas]).sort(), [
            ["controller", 5],
            ["redis-haproxy", 3],
            ["registry", 3],
        ]);
        const controller = deployments.find((d) => d.inputs.metadata.name === "controller")!;
        assert.equal(
            controller.inputs.spec.template.spec.containers[0].image,
            "amalgam8/a8-controller:1.1.0",
            "controller: {replicas: 5} keeps the other defaults",
        );
    });

    it("a service used alone as a library gets the replicas a stack gets by default", async () => {
        const run = await runProgram(stackConfig("dev"), path.join(__dirname, "..", "fixtures", "programs", "apiServiceLibrary.ts"));
        const deployment = run.resources.find((r) => r.type === "kubernetes:apps/v1:Deployment")!;
        assert.equal(deployment.inputs.spec.replicas, DEFAULTS.registry.replicas);
        assert.equal(DEFAULTS.registry.replicas, 3);
    });

    it("a library user's invalid arguments: the stack configuration's messages, nothing registered", async () => {
        const text = await rejection(stackConfig("dev"), path.join(__dirname, "..", "fixtures", "programs", "invalidLibrary.ts"));
        assert.equal(
            text,
            'invalid arguments of ControlPlane "mesh":\n' +
                "  controller.replicas: -3 is outside 1-1000\n" +
                "  registry.nodePort: 5 is outside 30000-32767\n" +
                '  storage: "memory" runs one replica of each service (each would keep its own copy of the data): ' +
                "set registry.replicas to 1 (registry.replicas: 1), or use storage redis",
        );
        assert.equal(registered(), 0, "no resource may be registered");
    });

    it("uses an existing namespace when told to", async () => {
        const r = await renderStack(stackConfig("staging", { createNamespace: false }));
        assert.equal(r.ofKind("Namespace").length, 0);
        assert.equal(r.get("Deployment", "controller").metadata.namespace, "amalgam8-staging");
    });
});

describe("the program stops on bad stack configuration", function () {
    this.timeout(60_000);

    const cases: [string, Record<string, unknown>, RegExp][] = [
        [
            "a nodePort outside the range",
            { controller: { nodePort: 29999 } },
            /a8-control-plane:controller\.nodePort: 29999 is outside 30000-32767/,
        ],
        [
            "in-memory storage with replicas",
            { storage: "memory", redis: undefined },
            /a8-control-plane:controller\.replicas: 2 must be 1 with storage memory/,
        ],
        ["a typo", { replicas: 3 }, /a8-control-plane:replicas: unknown key/],
        [
            "an unknown Redis mode",
            { redis: { mode: "sentinel" } },
            /a8-control-plane:redis\.mode: "sentinel" is not one of standalone, ha, external/,
        ],
    ];
    for (const [what, overrides, message] of cases) {
        it(`${what}: one clear message, no stack trace, nothing registered`, async () => {
            const text = await rejection(stackConfig("staging", overrides));
            assert.match(text, message);
            assert.ok(!/\n\s+at /.test(text), "no stack trace");
            assert.equal(registered(), 0, "no resource may be registered");
        });
    }

    it("a key of a namespace nothing reads (a mistyped prefix) instead of deploying the defaults", async () => {
        // As the CLI hands it over: every key of the stack file, whatever its namespace.
        const config: StackConfig = {
            project: "a8-control-plane",
            stack: "dev",
            config: { "a8-controlplane:namespace": "amalgam8-dev" },
            secretKeys: [],
        };
        const text = await rejection(config);
        assert.match(
            text,
            /^invalid stack configuration:\n {2}a8-controlplane:namespace: is in namespace a8-controlplane, which nothing here reads; /,
        );
        assert.match(text, /\(did you mean a8-control-plane:namespace\?\)$/);
        assert.equal(registered(), 0);
    });

    it("a stack file whose keys are not under config:, which the CLI would ignore", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "a8-misplaced-"));
        try {
            fs.copyFileSync(path.join(REPO_ROOT, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
            fs.writeFileSync(
                path.join(dir, "Pulumi.qa.yaml"),
                "a8-control-plane:namespace: amalgam8-qa\na8-control-plane:storage: memory\n",
            );
            // What the CLI hands the program: the project's defaults only.
            const config: StackConfig = { project: "a8-control-plane", stack: "qa", projectDir: dir, config: {}, secretKeys: [] };
            const text = await rejection(config);
            assert.equal(
                text,
                "invalid stack configuration:\n" +
                    "  Pulumi.qa.yaml: a8-control-plane:namespace: is not under config: " +
                    "(the Pulumi CLI would ignore it; indent it under config:)\n" +
                    "  Pulumi.qa.yaml: a8-control-plane:storage: is not under config: " +
                    "(the Pulumi CLI would ignore it; indent it under config:)",
            );
            assert.equal(registered(), 0);
            // The same check, naming the same keys, before check --stack runs the program.
            assert.throws(
                () => loadStackConfig(dir, "qa"),
                (e: Error) => e.message.startsWith("Pulumi.qa.yaml: a8-control-plane:namespace: is not under config:"),
            );
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
