/**
 * Recognising Redis pods: what each container does for Redis, and on which ports it speaks it.
 *
 * Redis is recognised by what runs, not only by labels: an image whose repository ends in
 * `redis`, or a container listening on 6379, or the recommended label `app.kubernetes.io/name: redis`.
 * A pod can be a data node (redis-server, possibly with a Sentinel sidecar), a Sentinel-only pod,
 * or a proxy in front (HAProxy on 6379). Exposure and network rules treat all three as Redis;
 * persistence, replication and auth rules only concern data nodes.
 */
import { imageName } from "./image";
import { Container, PodTemplate, commandWords, containerPorts, containersOf, listOf, specOf } from "./k8s";
import type { Workload } from "./model";

export type RedisRole = "server" | "sentinel" | "proxy";

const PROXY_IMAGE = /(^|[-_])(haproxy|envoy|twemproxy|nutcracker|predixy|nginx)($|[-_])|redis-?proxy/;

const REDIS_PORT = 6379;
const SENTINEL_PORT = 26379;

function listensOn(c: Container, port: number): boolean {
    return containerPorts(c).some((p) => p?.containerPort === port);
}

function isRedisImage(image: unknown): boolean {
    const n = imageName(image);
    return n.endsWith("redis") && !PROXY_IMAGE.test(n);
}

function isProxyImage(image: unknown): boolean {
    return PROXY_IMAGE.test(imageName(image));
}

/** What one container does for Redis, if anything. */
export function containerRedisRole(c: Container): RedisRole | undefined {
    const name = typeof c.name === "string" ? c.name.toLowerCase() : "";
    const cmd = commandWords(c).join(" ").toLowerCase();
    const redisImage = isRedisImage(c.image) || imageName(c.image) === "redis-sentinel";
    if (isProxyImage(c.image)) {
        return listensOn(c, REDIS_PORT) || name.includes("redis") || name.includes("haproxy") ? "proxy" : undefined;
    }
    const sentinelish =
        /redis-sentinel|--sentinel|sentinel\.conf/.test(cmd) ||
        imageName(c.image) === "redis-sentinel" ||
        (name.includes("sentinel") && (redisImage || listensOn(c, SENTINEL_PORT))) ||
        (listensOn(c, SENTINEL_PORT) && !listensOn(c, REDIS_PORT));
    if (sentinelish) {
        return "sentinel";
    }
    if (redisImage || listensOn(c, REDIS_PORT)) {
        return "server";
    }
    return undefined;
}

/**
 * The pod's Redis role: server wins over sentinel (a data node with a Sentinel sidecar is a
 * data node), sentinel over proxy. Labels decide only when no container says anything.
 */
export function podRedisRole(pod: PodTemplate): RedisRole | undefined {
    const roles = new Set(containersOf(pod.spec).map(containerRedisRole));
    if (roles.has("server")) return "server";
    if (roles.has("sentinel")) return "sentinel";
    if (roles.has("proxy")) return "proxy";
    const label = (pod.labels["app.kubernetes.io/name"] ?? "").toLowerCase();
    if (label === "redis") return "server";
    if (label === "redis-sentinel") return "sentinel";
    if (label === "redis-haproxy" || label === "redis-proxy") return "proxy";
    return undefined;
}

export function sentinelContainers(pod: PodTemplate): Container[] {
    return containersOf(pod.spec).filter((c) => containerRedisRole(c) === "sentinel");
}

export function serverContainers(pod: PodTemplate): Container[] {
    return containersOf(pod.spec).filter((c) => containerRedisRole(c) === "server");
}

/** Ports (numbers and names) on which a workload speaks the Redis or Sentinel protocol. */
export function redisPortsOf(w: Workload): Set<number | string> {
    const out = new Set<number | string>([REDIS_PORT, SENTINEL_PORT]);
    for (const c of containersOf(w.pod.spec)) {
        const role = containerRedisRole(c);
        for (const p of containerPorts(c)) {
            const redisLike =
                p?.containerPort === REDIS_PORT || p?.containerPort === SENTINEL_PORT || /redis|sentinel/i.test(String(p?.name ?? ""));
            // Data nodes and Sentinels speak Redis on every port; a proxy only on its Redis ports.
            if (role === "server" || role === "sentinel" || (role === "proxy" && redisLike)) {
                if (typeof p?.containerPort === "number") out.add(p.containerPort);
                if (typeof p?.name === "string") out.add(p.name);
            }
        }
    }
    return out;
}

/** Whether the redis container of a data node mounts a PersistentVolumeClaim (its data survives a restart). */
export function keepsDataOnClaim(w: Workload): boolean {
    const claimNames = new Set<string>();
    for (const t of listOf(specOf(w.obj, "StatefulSet").volumeClaimTemplates)) {
        if (typeof t?.metadata?.name === "string") claimNames.add(t.metadata.name);
    }
    for (const v of Array.isArray(w.pod.spec.volumes) ? w.pod.spec.volumes : []) {
        // A single-replica workload may use a pre-created claim.
        if (v?.persistentVolumeClaim && typeof v.name === "string" && w.replicas <= 1) claimNames.add(v.name);
    }
    return serverContainers(w.pod).some((c) =>
        (Array.isArray(c.volumeMounts) ? c.volumeMounts : []).some((m: any) => claimNames.has(m?.name)),
    );
}
