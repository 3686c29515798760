import { strict as assert } from "assert";
import * as jwt from "jsonwebtoken";
import { CONTROLLER, REGISTRY, apiServiceEnv, serviceFqdn, sidecarEnv } from "../../components/amalgam8";
import { externalEndpoint } from "../../components/apiService";
import { signToken } from "../../components/auth";
import { selectorLabels, standardLabels } from "../../components/kube/labels";
import { spreadConstraints } from "../../components/kube/pod";

const password = { name: "redis-auth", key: "password" };
const redis = { kind: "redis" as const, host: "redis.ns.svc.cluster.local", port: 6379, password, writeReplicas: 0 };

describe("the Amalgam8 contract (pure)", () => {
    it("controller: redis:// URL, password by secretKeyRef, log level", () => {
        assert.deepEqual(apiServiceEnv(CONTROLLER, "warn", redis, { mode: "none" }), [
            { name: "A8_LOG_LEVEL", value: "warn" },
            { name: "A8_DATABASE_TYPE", value: "redis" },
            { name: "A8_DATABASE_HOST", value: "redis://redis.ns.svc.cluster.local:6379" },
            { name: "A8_DATABASE_PASSWORD", valueFrom: { secretKeyRef: password } },
        ]);
    });
    it("controller before an HA Redis: writes wait for one replica, for a bounded time; the registry does not", () => {
        const ha = { ...redis, writeReplicas: 1 };
        assert.deepEqual(apiServiceEnv(CONTROLLER, "info", ha, { mode: "none" }).slice(4), [
            { name: "A8_DATABASE_WAIT_REPLICAS", value: "1" },
            { name: "A8_DATABASE_WAIT_TIMEOUT_MS", value: "1000" },
        ]);
        assert.deepEqual(apiServiceEnv(REGISTRY, "info", ha, { mode: "none" }), apiServiceEnv(REGISTRY, "info", redis, { mode: "none" }));
    });
    it("registry: host:port without scheme, inmem (not memory) for in-memory storage", () => {
        assert.deepEqual(apiServiceEnv(REGISTRY, "info", redis, { mode: "none" }).slice(1), [
            { name: "A8_STORE", value: "redis" },
            { name: "A8_STORE_ADDRESS", value: "redis.ns.svc.cluster.local:6379" },
            { name: "A8_STORE_PASSWORD", valueFrom: { secretKeyRef: password } },
        ]);
        assert.deepEqual(REGISTRY.storageEnv({ kind: "memory" }), [{ name: "A8_STORE", value: "inmem" }]);
        assert.deepEqual(CONTROLLER.storageEnv({ kind: "memory" }), [{ name: "A8_DATABASE_TYPE", value: "memory" }]);
    });
    it("jwt: auth mode and secret by reference", () => {
        const secret = { name: "a8-auth", key: "jwt-secret" };
        const env = apiServiceEnv(CONTROLLER, "info", { kind: "memory" }, { mode: "jwt", secret });
        assert.deepEqual(env.slice(-2), [
            { name: "A8_AUTH_MODE", value: "jwt" },
            { name: "A8_JWT_SECRET", valueFrom: { secretKeyRef: secret } },
        ]);
    });
    it("sidecar variables and service names", () => {
        assert.equal(serviceFqdn("controller", "a8"), "controller.a8.svc.cluster.local");
        assert.deepEqual(Object.keys(sidecarEnv("http://c:6080", "http://r:5080")), ["A8_CONTROLLER_URL", "A8_REGISTRY_URL"]);
    });
    it("signs an HS256 token with the namespace claim, stable across runs", () => {
        const token = signToken("s3cret-s3cret-s3cret", "admin");
        assert.equal(token, signToken("s3cret-s3cret-s3cret", "admin"));
        const claims = jwt.verify(token, "s3cret-s3cret-s3cret", { algorithms: ["HS256"] }) as jwt.JwtPayload;
        assert.equal(claims.namespace, "admin");
        assert.throws(() => jwt.verify(token, "another-secret", { algorithms: ["HS256"] }));
    });
    it("derives the external endpoint from what the cluster reports", () => {
        const spec = { ports: [{ port: 6080, nodePort: 31200 }] } as any;
        assert.equal(externalEndpoint("ClusterIP", spec, undefined), undefined);
        assert.equal(externalEndpoint("NodePort", spec, undefined), "http://<node-address>:31200");
        assert.equal(externalEndpoint("LoadBalancer", spec, { loadBalancer: {} } as any), undefined, "pending load balancer");
        assert.equal(
            externalEndpoint("LoadBalancer", spec, { loadBalancer: { ingress: [{ hostname: "lb.example.com" }] } } as any),
            "http://lb.example.com:6080",
        );
    });
});

describe("labels and spreading (pure)", () => {
    it("selectors never carry the version, standard labels do", () => {
        const id = { name: "controller", instance: "a8", component: "routing-rules", version: "1.1.0" };
        assert.deepEqual(selectorLabels(id), { "app.kubernetes.io/name": "controller", "app.kubernetes.io/instance": "a8" });
        const labels = standardLabels(id);
        assert.equal(labels["app.kubernetes.io/version"], "1.1.0");
        assert.equal(labels["app.kubernetes.io/part-of"], "amalgam8");
        for (const [k, v] of Object.entries(selectorLabels(id))) assert.equal(labels[k], v);
    });
    it("spreads on nodes, and on zones only when asked", () => {
        const sel = { app: "x" };
        assert.deepEqual(
            spreadConstraints(sel, false).map((c) => c.topologyKey),
            ["kubernetes.io/hostname"],
        );
        assert.deepEqual(
            spreadConstraints(sel, true).map((c) => c.topologyKey),
            ["kubernetes.io/hostname", "topology.kubernetes.io/zone"],
        );
    });
});
