import * as assert from "assert";
import { serviceSelectsOneWorkload, serviceTargetPort, servicesInternal } from "../../policy/policies/services";
import { find, goodObjects, messages, podSpec, refs, runResource, runStack, seedObjects } from "./helpers";

describe("svc-internal-only", () => {
    it("passes ClusterIP and allow-listed Services", async () => {
        assert.deepStrictEqual(await runResource(servicesInternal, find(goodObjects(), "Service/controller")), []);
        const lb = find(goodObjects(), "Service/controller");
        lb.spec.type = "LoadBalancer";
        assert.deepStrictEqual(await runResource(servicesInternal, lb, { allowLoadBalancerFor: ["controller"], allowNodePortFor: [] }), []);
    });
    it("flags NodePort, LoadBalancer and externalIPs", async () => {
        assert.match(messages(await runResource(servicesInternal, find(seedObjects(), "Service/controller"))), /is a NodePort/);
        const s = find(goodObjects(), "Service/registry");
        s.spec.type = "LoadBalancer";
        s.spec.externalIPs = ["198.51.100.1"];
        const r = messages(await runResource(servicesInternal, s));
        assert.match(r, /is a LoadBalancer/);
        assert.match(r, /sets externalIPs 198\.51\.100\.1/);
    });
});

describe("svc-selects-one-workload", () => {
    it("passes when every Service selects exactly one workload", async () => {
        assert.deepStrictEqual(await runStack(serviceSelectsOneWorkload, goodObjects()), []);
        assert.deepStrictEqual(await runStack(serviceSelectsOneWorkload, seedObjects()), []);
    });
    it("flags Services selecting nothing, several workloads, or without a selector", async () => {
        const objs = goodObjects();
        find(objs, "Service/controller").spec.selector = { "app.kubernetes.io/name": "ctrl" };
        find(objs, "Service/registry").spec.selector = { "app.kubernetes.io/instance": "a8" };
        delete find(objs, "Service/redis-haproxy").spec.selector;
        const f = await runStack(serviceSelectsOneWorkload, objs);
        assert.deepStrictEqual(refs(f).sort(), ["Service/controller", "Service/redis-haproxy", "Service/registry"]);
        assert.match(messages(f), /matches no workload in namespace amalgam8/);
        assert.match(messages(f), /matches Deployment\/controller, .*Deployment\/registry/);
        assert.match(messages(f), /has no selector/);
    });
    it("ignores ExternalName Services", async () => {
        const ext = {
            apiVersion: "v1",
            kind: "Service",
            metadata: { name: "ext", namespace: "amalgam8" },
            spec: { type: "ExternalName", externalName: "redis.example.com" },
        };
        assert.deepStrictEqual(await runStack(serviceSelectsOneWorkload, [...goodObjects(), ext]), []);
    });
});

describe("svc-target-port", () => {
    it("passes named and numeric target ports that the pods declare", async () => {
        assert.deepStrictEqual(await runStack(serviceTargetPort, goodObjects()), []);
        assert.deepStrictEqual(await runStack(serviceTargetPort, seedObjects()), []);
    });
    it("flags unknown names, numbers and protocols, and an omitted targetPort that is no container port", async () => {
        const objs = goodObjects();
        find(objs, "Service/controller").spec.ports[0].targetPort = "web";
        find(objs, "Service/registry").spec.ports[0].targetPort = 8081;
        find(objs, "Service/redis-haproxy").spec.ports[0].protocol = "UDP";
        delete find(objs, "Service/redis").spec.ports[0].targetPort;
        find(objs, "Service/redis").spec.ports[0].port = 6380;
        const f = await runStack(serviceTargetPort, objs);
        assert.deepStrictEqual(refs(f).sort(), ["Service/controller", "Service/redis", "Service/redis-haproxy", "Service/registry"]);
        assert.match(messages(f), /targets "web"\/TCP, which no container of Deployment\/controller declares \(declared: 8080 \(http\)\)/);
        assert.match(messages(f), /targets 6380\/TCP/);
    });
    it("checks the pods a Service selects even when they come from a StatefulSet", async () => {
        const objs = goodObjects();
        podSpec(find(objs, "StatefulSet/redis")).containers[1].ports = [];
        assert.deepStrictEqual(refs(await runStack(serviceTargetPort, objs)), ["Service/redis"]);
    });
});
