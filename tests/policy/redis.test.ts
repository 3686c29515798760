import * as assert from "assert";
import { K8sObject } from "../../policy/lib/k8s";
import {
    a8StorageWiring,
    redisAuth,
    redisHaTopology,
    redisNetworkPolicy,
    redisNotExposed,
    redisPersistence,
} from "../../policy/policies/redis";
import { container, editConf, find, goodObjects, messages, podSpec, refs, runStack, seedObjects, without } from "./helpers";

/** The good fixture with a single standalone Redis instead of the HA trio. */
function standalone(): K8sObject[] {
    const objs = goodObjects();
    const sts = find(objs, "StatefulSet/redis");
    sts.spec.replicas = 1;
    podSpec(sts).containers = podSpec(sts).containers.filter((c: any) => c.name !== "sentinel");
    return objs;
}

/** Controller and registry in memory mode and no Redis objects at all. */
function memoryOnly(): K8sObject[] {
    const objs = goodObjects().filter((o) => !/redis/.test(o.metadata.name));
    for (const d of ["controller", "registry"]) {
        const dep = find(objs, `Deployment/${d}`);
        dep.spec.replicas = 1;
        container(dep, d).env = [];
    }
    return objs;
}

function external(address: string, registryAddress: string): K8sObject[] {
    const objs = memoryOnly();
    container(find(objs, "Deployment/controller"), "controller").env = [
        { name: "A8_DATABASE_TYPE", value: "redis" },
        { name: "A8_DATABASE_HOST", value: address },
    ];
    container(find(objs, "Deployment/registry"), "registry").env = [
        { name: "A8_STORE", value: "redis" },
        { name: "A8_STORE_ADDRESS", value: registryAddress },
    ];
    return objs;
}

describe("redis-ha-topology", () => {
    it("passes 3 nodes with 3 Sentinels, quorum 2 and min-replicas-to-write 1", async () => {
        assert.deepStrictEqual(await runStack(redisHaTopology, goodObjects()), []);
    });
    it("judges each namespace's Redis on its own (several releases in one input)", async () => {
        const inNamespace = (ns: string, objs: K8sObject[]) =>
            objs.map((o) => (o.kind === "Namespace" ? { ...o, metadata: { ...o.metadata, name: ns } } : { ...o, metadata: { ...o.metadata, namespace: ns } }));
        assert.deepStrictEqual(await runStack(redisHaTopology, [...goodObjects(), ...inNamespace("second", goodObjects())]), []);
        const small = inNamespace("small", goodObjects());
        find(small, "StatefulSet/redis").spec.replicas = 1;
        const f = await runStack(redisHaTopology, [...goodObjects(), ...small]);
        assert.ok(f.length > 0);
        assert.match(messages(f), /^Redis runs 1 data node \(StatefulSet\/redis\): losing that node loses the control plane's state/);
        assert.doesNotMatch(messages(f), /6 Sentinels|4 data nodes/);
    });
    it("passes with no Redis at all (in-memory storage or an external Redis)", async () => {
        assert.deepStrictEqual(await runStack(redisHaTopology, memoryOnly()), []);
        assert.deepStrictEqual(await runStack(redisHaTopology, external("redis://redis.example.com:6379", "redis.example.com:6379")), []);
    });
    it("flags a standalone Redis: one node, no Sentinel", async () => {
        const f = await runStack(redisHaTopology, standalone());
        assert.strictEqual(f.length, 2);
        assert.match(messages(f), /Redis runs 1 data node/);
        assert.match(messages(f), /no Sentinel/);
    });
    it("flags an even number of Sentinels and a quorum that is not a majority", async () => {
        const objs = goodObjects();
        find(objs, "StatefulSet/redis").spec.replicas = 4;
        editConf(objs, "ConfigMap/redis-config", "sentinel.conf", (t) => t.replace(/6379 2/, "6379 1"));
        const text = messages(await runStack(redisHaTopology, objs));
        assert.match(text, /Redis has 4 Sentinels\. Run an odd number/);
        assert.match(text, /quorum 1 with 4 Sentinels: set it to 3/);
    });
    it("flags a quorum above the number of Sentinels and a missing monitor line", async () => {
        const objs = goodObjects();
        editConf(objs, "ConfigMap/redis-config", "sentinel.conf", (t) => t.replace(/6379 2/, "6379 4"));
        assert.match(messages(await runStack(redisHaTopology, objs)), /quorum 4 with 3 Sentinels/);
        editConf(objs, "ConfigMap/redis-config", "sentinel.conf", (t) => t.replace(/^sentinel monitor.*$/m, "# no monitor"));
        assert.match(messages(await runStack(redisHaTopology, objs)), /without a readable "sentinel monitor/);
    });
    it("flags min-replicas-to-write 0 or unset, whatever the case and comments", async () => {
        const objs = goodObjects();
        editConf(objs, "ConfigMap/redis-config", "redis.conf", (t) => t.replace("min-replicas-to-write 1", "# min-replicas-to-write 1\nMIN-REPLICAS-TO-WRITE 0"));
        const f = await runStack(redisHaTopology, objs);
        assert.deepStrictEqual(refs(f), ["StatefulSet/redis"]);
        assert.match(messages(f), /min-replicas-to-write is 0/);
    });
    it("reads min-replicas-to-write from command-line flags too", async () => {
        const objs = goodObjects();
        editConf(objs, "ConfigMap/redis-config", "redis.conf", (t) => t.replace("min-replicas-to-write 1", ""));
        assert.strictEqual((await runStack(redisHaTopology, objs)).length, 1);
        container(find(objs, "StatefulSet/redis"), "redis").command = ["redis-server", "/conf/redis.conf", "--min-replicas-to-write", "1"];
        assert.deepStrictEqual(await runStack(redisHaTopology, objs), []);
    });
    it("counts a separate Sentinel Deployment", async () => {
        const objs = standalone();
        find(objs, "StatefulSet/redis").spec.replicas = 3;
        const sentinels = JSON.parse(JSON.stringify(find(goodObjects(), "StatefulSet/redis")));
        sentinels.kind = "Deployment";
        sentinels.metadata.name = "sentinel";
        delete sentinels.spec.volumeClaimTemplates;
        delete sentinels.spec.serviceName;
        podSpec(sentinels).containers = podSpec(sentinels).containers.filter((c: any) => c.name === "sentinel");
        assert.deepStrictEqual(await runStack(redisHaTopology, [...objs, sentinels]), []);
    });
});

describe("redis-persistence", () => {
    it("passes a StatefulSet with a claim template mounted by redis and appendonly yes", async () => {
        assert.deepStrictEqual(await runStack(redisPersistence, goodObjects()), []);
    });
    it("flags data on an emptyDir and appendonly off", async () => {
        const objs = goodObjects();
        const sts = find(objs, "StatefulSet/redis");
        delete sts.spec.volumeClaimTemplates;
        podSpec(sts).volumes.push({ name: "data", emptyDir: {} });
        editConf(objs, "ConfigMap/redis-config", "redis.conf", (t) => t.replace("appendonly yes", "appendonly no"));
        const f = await runStack(redisPersistence, objs);
        assert.strictEqual(f.length, 2);
        assert.match(messages(f), /Add spec\.volumeClaimTemplates/);
        assert.match(messages(f), /Add "appendonly yes"/);
    });
    it("flags the seed's ReplicationController Redis", async () => {
        const f = await runStack(redisPersistence, seedObjects());
        assert.deepStrictEqual(refs(f), ["ReplicationController/redis", "ReplicationController/redis"]);
        assert.match(messages(f), /Run Redis as a StatefulSet/);
    });
});

describe("sec-redis-auth", () => {
    it("passes requirepass/masterauth placeholders with a mounted Secret, and Sentinel auth", async () => {
        assert.deepStrictEqual(await runStack(redisAuth, goodObjects()), []);
    });
    it("flags Redis without requirepass", async () => {
        const objs = goodObjects();
        editConf(objs, "ConfigMap/redis-config", "redis.conf", (t) => t.replace(/^requirepass .*$/m, ""));
        const f = await runStack(redisAuth, objs);
        assert.deepStrictEqual(refs(f), ["StatefulSet/redis"]);
        assert.match(messages(f), /without AUTH/);
    });
    it("flags a requirepass literal when the pod reads no Secret", async () => {
        const objs = goodObjects();
        const sts = find(objs, "StatefulSet/redis");
        podSpec(sts).volumes = podSpec(sts).volumes.filter((v: any) => !v.secret);
        const f = await runStack(redisAuth, objs);
        assert.match(messages(f), /requirepass in ConfigMap\/redis-config \(redis\.conf\) is a literal/);
    });
    it("accepts --requirepass from a secretKeyRef env var and rejects a literal flag", async () => {
        const objs = goodObjects();
        editConf(objs, "ConfigMap/redis-config", "redis.conf", (t) => t.replace(/^requirepass .*$/m, ""));
        const sts = find(objs, "StatefulSet/redis");
        podSpec(sts).volumes = podSpec(sts).volumes.filter((v: any) => !v.secret);
        const redis = container(sts, "redis");
        redis.command = ["redis-server", "/conf/redis.conf", "--requirepass", "$(REDIS_PASSWORD)"];
        redis.env = [{ name: "REDIS_PASSWORD", valueFrom: { secretKeyRef: { name: "redis-auth", key: "password" } } }];
        assert.doesNotMatch(messages(await runStack(redisAuth, objs)), /requirepass/);
        redis.command = ["redis-server", "--requirepass", "hunter2"];
        assert.match(messages(await runStack(redisAuth, objs)), /--requirepass as a literal/);
    });
    it("flags a replicated Redis without masterauth", async () => {
        const objs = goodObjects();
        editConf(objs, "ConfigMap/redis-config", "redis.conf", (t) => t.replace(/^masterauth .*$/m, ""));
        assert.match(messages(await runStack(redisAuth, objs)), /has no masterauth/);
    });
    it("flags Sentinels without auth-pass or their own requirepass", async () => {
        const objs = goodObjects();
        editConf(objs, "ConfigMap/redis-config", "sentinel.conf", (t) => t.replace(/^sentinel auth-pass .*$/m, "").replace(/^requirepass .*$/m, ""));
        const text = messages(await runStack(redisAuth, objs));
        assert.match(text, /without "sentinel auth-pass mymaster/);
        assert.match(text, /Sentinel has no requirepass/);
    });
    it("flags the seed's password-less Redis", async () => {
        assert.deepStrictEqual(refs(await runStack(redisAuth, seedObjects())), ["ReplicationController/redis"]);
    });
});

describe("sec-redis-not-exposed", () => {
    it("passes ClusterIP and headless Services", async () => {
        assert.deepStrictEqual(await runStack(redisNotExposed, goodObjects()), []);
    });
    it("flags NodePort, LoadBalancer and externalIPs on any Service selecting Redis, proxy included", async () => {
        const objs = goodObjects();
        find(objs, "Service/redis-haproxy").spec.type = "LoadBalancer";
        const headless = find(objs, "Service/redis");
        delete headless.spec.clusterIP;
        headless.spec.externalIPs = ["203.0.113.7"];
        const f = await runStack(redisNotExposed, objs);
        assert.deepStrictEqual(refs(f).sort(), ["Service/redis", "Service/redis-haproxy"]);
        assert.match(messages(f), /has externalIPs 203\.0\.113\.7/);
        assert.match(messages(f), /is type LoadBalancer/);
    });
    it("recognises Redis by image even without Redis labels (the seed's NodePort 31400)", async () => {
        const f = await runStack(redisNotExposed, seedObjects());
        assert.deepStrictEqual(refs(f), ["Service/redis"]);
        assert.match(messages(f), /is type NodePort/);
    });
});

describe("sec-redis-network-policy", () => {
    it("passes policies that admit only listed pods", async () => {
        assert.deepStrictEqual(await runStack(redisNetworkPolicy, goodObjects()), []);
    });
    it("flags Redis pods no NetworkPolicy isolates", async () => {
        const f = await runStack(redisNetworkPolicy, without(goodObjects(), "NetworkPolicy/redis"));
        assert.deepStrictEqual(refs(f), ["StatefulSet/redis"]);
        assert.match(messages(f), /selected by no NetworkPolicy/);
    });
    it("does not count an Egress-only policy", async () => {
        const objs = goodObjects();
        find(objs, "NetworkPolicy/redis-haproxy").spec.policyTypes = ["Egress"];
        assert.deepStrictEqual(refs(await runStack(redisNetworkPolicy, objs)), ["Deployment/redis-haproxy"]);
    });
    it("flags rules open to every source, an IP block, whole namespaces or every pod", async () => {
        for (const [rule, why] of [
            [{ ports: [{ port: 6379 }] }, /without `from` admits every source/],
            [{ from: [{ ipBlock: { cidr: "0.0.0.0/0" } }] }, /admits the IP range 0\.0\.0\.0\/0/],
            [{ from: [{ namespaceSelector: {} }] }, /every pod of the selected namespaces/],
            [{ from: [{ podSelector: {} }] }, /every pod \(empty podSelector\)/],
        ] as const) {
            const objs = goodObjects();
            find(objs, "NetworkPolicy/redis").spec.ingress.push(rule);
            const f = await runStack(redisNetworkPolicy, objs);
            assert.deepStrictEqual(refs(f), ["NetworkPolicy/redis"], JSON.stringify(rule));
            assert.match(messages(f), why);
        }
    });
    it("allows an open rule that only reaches a non-Redis port (e.g. the proxy's health port)", async () => {
        const objs = goodObjects();
        find(objs, "NetworkPolicy/redis-haproxy").spec.ingress.push({ ports: [{ port: 8404 }] });
        assert.deepStrictEqual(await runStack(redisNetworkPolicy, objs), []);
        find(objs, "NetworkPolicy/redis-haproxy").spec.ingress.push({ ports: [{ port: "redis" }] });
        assert.deepStrictEqual(refs(await runStack(redisNetworkPolicy, objs)), ["NetworkPolicy/redis-haproxy"]);
    });
});

describe("a8-storage-wiring", () => {
    it("passes the good fixture, in-memory storage and an external Redis", async () => {
        assert.deepStrictEqual(await runStack(a8StorageWiring, goodObjects()), []);
        assert.deepStrictEqual(await runStack(a8StorageWiring, memoryOnly()), []);
        assert.deepStrictEqual(await runStack(a8StorageWiring, external("redis://redis.example.com:6379", "redis.example.com:6379")), []);
    });
    it("flags a missing address and an address in the other service's format", async () => {
        const objs = external("redis.example.com:6379", "redis://redis.example.com:6379");
        const text = messages(await runStack(a8StorageWiring, objs));
        assert.match(text, /A8_DATABASE_HOST must be a URL like redis:\/\/host:6379/);
        assert.match(text, /A8_STORE_ADDRESS must be host:port without a scheme/);
        container(find(objs, "Deployment/registry"), "registry").env = [{ name: "A8_STORE", value: "redis" }];
        assert.match(messages(await runStack(a8StorageWiring, objs)), /A8_STORE_ADDRESS is unset/);
    });
    it("flags a storage type the service does not accept", async () => {
        const objs = memoryOnly();
        container(find(objs, "Deployment/registry"), "registry").env = [{ name: "A8_STORE", value: "memory" }];
        assert.match(messages(await runStack(a8StorageWiring, objs)), /A8_STORE=memory is not a storage type the registry accepts: use inmem or redis/);
    });
    it("flags pointing at the Redis nodes instead of the proxy, and at an unknown Service", async () => {
        const objs = goodObjects();
        container(find(objs, "Deployment/controller"), "controller").env[1].value = "redis://redis.amalgam8:6379";
        container(find(objs, "Deployment/registry"), "registry").env[1].value = "redis-master:6379";
        const f = await runStack(a8StorageWiring, objs);
        assert.match(messages(f), /points at Service\/redis, which spreads connections over all 3 Redis nodes/);
        assert.match(messages(f), /names "redis-master", which is no Service of this stack/);
    });
    it("flags a missing or literal password when Redis requires AUTH", async () => {
        const objs = goodObjects();
        container(find(objs, "Deployment/controller"), "controller").env.pop();
        container(find(objs, "Deployment/registry"), "registry").env[2] = { name: "A8_STORE_PASSWORD", value: "hunter2" };
        const text = messages(await runStack(a8StorageWiring, objs));
        assert.match(text, /A8_DATABASE_PASSWORD is unset/);
        assert.match(text, /A8_STORE_PASSWORD does not come from a Secret/);
    });
    it("flags a client the proxy's NetworkPolicy does not admit, and a wrong port", async () => {
        const objs = goodObjects();
        find(objs, "NetworkPolicy/redis-haproxy").spec.ingress[0].from.pop();
        container(find(objs, "Deployment/controller"), "controller").env[1].value = "redis://redis-haproxy.amalgam8.svc.cluster.local:6380";
        const text = messages(await runStack(a8StorageWiring, objs));
        assert.match(text, /Deployment\/registry connects to Redis through Service\/redis-haproxy, but no NetworkPolicy/);
        assert.match(text, /uses port 6380, but Service\/redis-haproxy exposes 6379/);
    });
    it("resolves the seed's $(REDIS_SERVICE_HOST) form to Service/redis", async () => {
        assert.deepStrictEqual(await runStack(a8StorageWiring, seedObjects()), []);
    });
});
