/**
 * The stack's Redis as a whole: its data nodes, Sentinels and proxies, per namespace and in all.
 */
import type { StackModel, Workload } from "./model";
import { sentinelContainers } from "./redis";

export interface RedisTopology {
    servers: Workload[];
    sentinels: Workload[];
    proxies: Workload[];
    /** Redis data nodes: replicas of every server workload. */
    nodes: number;
    /** Sentinel processes: Sentinel containers times replicas. */
    sentinelCount: number;
}

/** Every Redis workload of the input, whatever its namespace. */
export function redisTopology(model: StackModel): RedisTopology {
    return model.cached("redisTopology", () => computeRedisTopology(model.workloads));
}

/** The Redis of one namespace: an input with several releases in several namespaces has several. */
export function redisTopologyIn(model: StackModel, namespace: string): RedisTopology {
    return model.cached(`redisTopology/${namespace}`, () => computeRedisTopology(model.workloadsIn(namespace)));
}

/** One topology per namespace that runs Redis data nodes. */
export function redisTopologies(model: StackModel): RedisTopology[] {
    return [...new Set(redisTopology(model).servers.map((w) => w.namespace))].map((ns) => redisTopologyIn(model, ns));
}

function computeRedisTopology(workloads: Workload[]): RedisTopology {
    const servers = workloads.filter((w) => w.redisRole === "server");
    const sentinels = workloads.filter((w) => sentinelContainers(w.pod).length > 0);
    const proxies = workloads.filter((w) => w.redisRole === "proxy");
    return {
        servers,
        sentinels,
        proxies,
        nodes: servers.reduce((n, w) => n + w.replicas, 0),
        sentinelCount: sentinels.reduce((n, w) => n + sentinelContainers(w.pod).length * w.replicas, 0),
    };
}

/** Every workload with something to do with Redis: data nodes, Sentinels, proxies. */
export function redisWorkloads(model: StackModel): Workload[] {
    const t = redisTopology(model);
    return [...new Set([...t.servers, ...t.sentinels, ...t.proxies])];
}
