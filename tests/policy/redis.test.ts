import * as assert from "assert";
import { K8sObject } from "../../policy/lib/k8s";
import { redisHaTopology, redisPersistence } from "../../policy/policies/redis";
import {
    container,
    editConf,
    externalRedisObjects,
    find,
    goodObjects,
    memoryOnlyObjects,
    messages,
    podSpec,
    refs,
    runStack,
    seedObjects,
} from "./helpers";

/** The good fixture with a single standalone Redis instead of the HA trio. */
function standalone(): K8sObject[] {
    const objs = goodObjects();
    const sts = find(objs, "StatefulSet/redis");
    sts.spec.replicas = 1;
    podSpec(sts).containers = podSpec(sts).containers.filter((c: any) => c.name !== "sentinel");
    return objs;
}

describe("redis-ha-topology", () => {
    it("passes 3 nodes with 3 Sentinels, quorum 2 and min-replicas-to-write 1", async () => {
        assert.deepStrictEqual(await runStack(redisHaTopology, goodObjects()), []);
    });
    it("judges each namespace's Redis on its own (several releases in one input)", async () => {
        const inNamespace = (ns: string, objs: K8sObject[]) =>
            objs.map((o) =>
                o.kind === "Namespace"
                    ? { ...o, metadata: { ...o.metadata, name: ns } }
                    : { ...o, metadata: { ...o.metadata, namespace: ns } },
            );
        assert.deepStrictEqual(await runStack(redisHaTopology, [...goodObjects(), ...inNamespace("second", goodObjects())]), []);
        const small = inNamespace("small", goodObjects());
        find(small, "StatefulSet/redis").spec.replicas = 1;
        const f = await runStack(redisHaTopology, [...goodObjects(), ...small]);
        assert.ok(f.length > 0);
        assert.match(messages(f), /^Redis runs 1 data node \(StatefulSet\/redis\): losing that node loses the control plane's state/);
        assert.doesNotMatch(messages(f), /6 Sentinels|4 data nodes/);
    });
    it("passes with no Redis at all (in-memory storage or an external Redis)", async () => {
        assert.deepStrictEqual(await runStack(redisHaTopology, memoryOnlyObjects()), []);
        assert.deepStrictEqual(
            await runStack(redisHaTopology, externalRedisObjects("redis://redis.example.com:6379", "redis.example.com:6379")),
            [],
        );
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
        editConf(objs, "ConfigMap/redis-config", "redis.conf", (t) =>
            t.replace("min-replicas-to-write 1", "# min-replicas-to-write 1\nMIN-REPLICAS-TO-WRITE 0"),
        );
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
