import * as assert from "assert";
import { a8StorageWiring } from "../../policy/policies/amalgam8";
import { container, externalRedisObjects, find, goodObjects, memoryOnlyObjects, messages, runStack, seedObjects } from "./helpers";

describe("a8-storage-wiring", () => {
    it("passes the good fixture, in-memory storage and an external Redis", async () => {
        assert.deepStrictEqual(await runStack(a8StorageWiring, goodObjects()), []);
        assert.deepStrictEqual(await runStack(a8StorageWiring, memoryOnlyObjects()), []);
        assert.deepStrictEqual(
            await runStack(a8StorageWiring, externalRedisObjects("redis://redis.example.com:6379", "redis.example.com:6379")),
            [],
        );
    });
    it("flags a missing address and an address in the other service's format", async () => {
        const objs = externalRedisObjects("redis.example.com:6379", "redis://redis.example.com:6379");
        const text = messages(await runStack(a8StorageWiring, objs));
        assert.match(text, /A8_DATABASE_HOST must be a URL like redis:\/\/host:6379/);
        assert.match(text, /A8_STORE_ADDRESS must be host:port without a scheme/);
        container(find(objs, "Deployment/registry"), "registry").env = [{ name: "A8_STORE", value: "redis" }];
        assert.match(messages(await runStack(a8StorageWiring, objs)), /A8_STORE_ADDRESS is unset/);
    });
    it("flags a storage type the service does not accept", async () => {
        const objs = memoryOnlyObjects();
        container(find(objs, "Deployment/registry"), "registry").env = [{ name: "A8_STORE", value: "memory" }];
        assert.match(
            messages(await runStack(a8StorageWiring, objs)),
            /A8_STORE=memory is not a storage type the registry accepts: use inmem or redis/,
        );
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
