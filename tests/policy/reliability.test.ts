import * as assert from "assert";
import {
    imagePinned,
    livenessProbe,
    noBarePods,
    noReplicationController,
    readinessProbe,
    resources,
    selectorMatchesTemplate,
} from "../../policy/policies/reliability";
import { container, find, goodObjects, messages, runResource, runResourceTyped, seedObjects } from "./helpers";

describe("rel-readiness-probe", () => {
    it("passes every workload of the good fixture", async () => {
        for (const o of goodObjects()) {
            const r = await runResource(readinessProbe, o);
            assert.ok(r === "not-applicable" || r.length === 0, `${o.kind}/${o.metadata.name}: ${messages(r)}`);
        }
    });
    it("flags serving containers without a readinessProbe and suggests the Amalgam8 endpoint", async () => {
        const d = find(goodObjects(), "Deployment/registry");
        delete container(d, "registry").readinessProbe;
        const r = await runResource(readinessProbe, d);
        assert.match(messages(r), /container registry has no readinessProbe.*httpGet \/uptime on port 8080/);
    });
    it("flags an exec probe on the shell-less Amalgam8 image and a probe on an undeclared named port", async () => {
        const d = find(goodObjects(), "Deployment/controller");
        container(d, "controller").readinessProbe = { exec: { command: ["wget", "-q", "localhost:8080/health"] } };
        assert.match(messages(await runResource(readinessProbe, d)), /exec readinessProbe, but the Amalgam8 images have no shell/);
        container(d, "controller").readinessProbe = { httpGet: { path: "/health", port: "web" } };
        assert.match(messages(await runResource(readinessProbe, d)), /probes the named port "web"/);
    });
    it("is not applicable to Services and flags the seed's ReplicationControllers", async () => {
        assert.strictEqual(await runResource(readinessProbe, find(goodObjects(), "Service/controller")), "not-applicable");
        assert.strictEqual((await runResource(readinessProbe, find(seedObjects(), "ReplicationController/controller"))).length, 1);
    });
});

describe("rel-liveness-probe (advisory)", () => {
    it("passes distinct liveness and readiness checks", async () => {
        assert.deepStrictEqual(await runResource(livenessProbe, find(goodObjects(), "Deployment/controller")), []);
    });
    it("flags a missing liveness probe and one identical to readiness", async () => {
        const d = find(goodObjects(), "Deployment/controller");
        const c = container(d, "controller");
        c.livenessProbe = { ...c.readinessProbe, failureThreshold: 9 };
        assert.match(messages(await runResource(livenessProbe, d)), /same check \(httpGet \/health on port http\)/);
        delete c.livenessProbe;
        assert.match(messages(await runResource(livenessProbe, d)), /has no livenessProbe/);
    });
});

describe("rel-resources", () => {
    it("passes requests and memory limits on every container, init containers included", async () => {
        assert.deepStrictEqual(await runResource(resources, find(goodObjects(), "StatefulSet/redis")), []);
    });
    it("flags what is missing per container", async () => {
        const s = find(goodObjects(), "StatefulSet/redis");
        delete container(s, "config").resources.limits;
        delete container(s, "sentinel").resources.requests.cpu;
        const r = await runResource(resources, s);
        assert.match(messages(r), /container config lacks resources\.limits\.memory/);
        assert.match(messages(r), /container sentinel lacks resources\.requests\.cpu/);
    });
    it("requires a CPU limit only when configured", async () => {
        const d = find(goodObjects(), "Deployment/controller");
        assert.deepStrictEqual(await runResource(resources, d), []);
        assert.match(messages(await runResource(resources, d, { requireCpuLimit: true })), /limits\.cpu/);
    });
});

describe("rel-image-pinned", () => {
    it("passes explicit tags and digests", async () => {
        const d = find(goodObjects(), "Deployment/controller");
        assert.deepStrictEqual(await runResource(imagePinned, d), []);
        container(d, "controller").image = `registry.local:5000/amalgam8/a8-controller@sha256:${"a".repeat(64)}`;
        assert.deepStrictEqual(await runResource(imagePinned, d, { requireDigest: true }), []);
    });
    it("flags untagged, latest and (when required) digest-less images", async () => {
        const d = find(goodObjects(), "Deployment/controller");
        container(d, "controller").image = "registry.local:5000/amalgam8/a8-controller";
        assert.match(messages(await runResource(imagePinned, d)), /without a tag/);
        container(d, "controller").image = "amalgam8/a8-controller:latest";
        assert.match(messages(await runResource(imagePinned, d)), /mutable tag latest/);
        container(d, "controller").image = "amalgam8/a8-controller:1.1.0";
        assert.match(messages(await runResource(imagePinned, d, { requireDigest: true })), /without a digest/);
    });
    it("flags what is no image reference, and a tag no registry accepts", async () => {
        const d = find(goodObjects(), "Deployment/controller");
        container(d, "controller").image = "amalgam8//a8-controller:1.1.0";
        assert.match(
            messages(await runResource(imagePinned, d)),
            /has the image "amalgam8\/\/a8-controller:1\.1\.0", which is not an image reference/,
        );
        container(d, "controller").image = "amalgam8/a8-controller:-rc1";
        assert.match(messages(await runResource(imagePinned, d)), /whose tag "-rc1" is not a valid tag/);
        container(d, "controller").image = "amalgam8/a8-controller:LATEST";
        assert.match(messages(await runResource(imagePinned, d)), /mutable tag latest/);
    });
});

describe("rel-no-replication-controller", () => {
    it("passes a Deployment", async () => {
        assert.strictEqual(await runResource(noReplicationController, find(goodObjects(), "Deployment/controller")), "not-applicable");
    });
    it("flags the seed's ReplicationControllers", async () => {
        assert.match(
            messages(await runResource(noReplicationController, find(seedObjects(), "ReplicationController/redis"))),
            /replace it with an apps\/v1 Deployment/,
        );
    });
    it("works from the type token when inputs omit apiVersion/kind", async () => {
        const r = await runResourceTyped(noReplicationController, "kubernetes:core/v1:ReplicationController", {
            metadata: { name: "rc" },
            spec: {},
        });
        assert.match(messages(r), /ReplicationController\/rc/);
        assert.strictEqual(
            await runResourceTyped(noReplicationController, "random:index/randomPassword:RandomPassword", { length: 16 }),
            "not-applicable",
        );
    });
});

describe("rel-no-bare-pods", () => {
    it("passes a StatefulSet", async () => {
        assert.strictEqual(await runResource(noBarePods, find(goodObjects(), "StatefulSet/redis")), "not-applicable");
    });
    it("flags a bare Pod", async () => {
        const pod = {
            apiVersion: "v1",
            kind: "Pod",
            metadata: { name: "debug" },
            spec: { containers: [{ name: "c", image: "busybox:1.36" }] },
        };
        assert.match(messages(await runResource(noBarePods, pod)), /Pod\/debug is a bare Pod/);
    });
});

describe("rel-selector-matches-template", () => {
    it("passes selectors that are a subset of the template labels", async () => {
        for (const ref of ["Deployment/controller", "StatefulSet/redis"]) {
            assert.deepStrictEqual(await runResource(selectorMatchesTemplate, find(goodObjects(), ref)), []);
        }
        assert.deepStrictEqual(await runResource(selectorMatchesTemplate, find(seedObjects(), "ReplicationController/redis")), []);
    });
    it("flags mismatches, missing selectors and malformed expressions", async () => {
        const d = find(goodObjects(), "Deployment/controller");
        d.spec.selector.matchLabels["app.kubernetes.io/name"] = "registry";
        assert.match(messages(await runResource(selectorMatchesTemplate, d)), /does not match its template labels/);
        d.spec.selector = { matchExpressions: [{ key: "app.kubernetes.io/name", operator: "In" }] };
        assert.match(messages(await runResource(selectorMatchesTemplate, d)), /needs at least one value/);
        delete d.spec.selector;
        assert.match(messages(await runResource(selectorMatchesTemplate, d)), /has no spec\.selector/);
        const rc = find(seedObjects(), "ReplicationController/redis");
        rc.spec.selector = { name: "cache" };
        assert.match(messages(await runResource(selectorMatchesTemplate, rc)), /selector \{name: cache\} does not match/);
    });
});
