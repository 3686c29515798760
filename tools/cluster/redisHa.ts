/**
 * A deployed stack's Redis HA as the test cluster runs it: the Redis StatefulSet's pods (redis-server
 * and a Sentinel each) and the Service in front of HAProxy, found from the objects the API server
 * holds, reached through a portal; faults are signals to the pods' real processes, and what follows
 * (the container restarted, Sentinel failing over) is the cluster's own doing.
 */
import type { Endpoint } from "../loopback/process";
import { waitFor } from "../loopback/process";
import { command, connect, parseInfo, replyFields } from "../loopback/redisClient";
import { KubeApi, KubeObject } from "./kubeApi";
import { Portal, openPortal } from "../loopback/portal";
import { containerProcess } from "./processes";
import type { TestCluster } from "./testCluster";

const REDIS_CONTAINER = "redis";
const SENTINEL_CONTAINER = "sentinel";

interface Node {
    readonly pod: string;
    /** The names Sentinel may announce it by: its pod IP and its stable DNS name. */
    readonly names: readonly string[];
    readonly redis: Endpoint;
    readonly sentinel: Endpoint;
}

const endpointOf = (url: string): Endpoint => {
    const u = new URL(url);
    return { host: u.hostname, port: Number(u.port) };
};

/** Pure: `sentinel <name> <ms>` of a rendered sentinel.conf, in ms. */
export function sentinelSetting(conf: string, name: string, master: string): number {
    const m = new RegExp(`^sentinel ${name} ${master} (\\d+)$`, "m").exec(conf);
    if (!m) throw new Error(`sentinel.conf sets no ${name} for ${master}`);
    return Number(m[1]);
}

export class ClusterRedisHa {
    private constructor(
        private readonly api: KubeApi,
        readonly namespace: string,
        private readonly nodes: readonly Node[],
        /** HAProxy, through the Service that the stack's redisAddress names. */
        readonly haproxy: Endpoint,
        readonly password: string,
        readonly masterName: string,
        readonly quorum: number,
        /** Sentinel fails the same master over again only after 2 x failover-timeout (plus slack). */
        readonly faultSpacingMs: number,
        private readonly portal: Portal,
    ) {}

    /** The stack's Redis HA in `namespace`; `redisAddress` is the stack output (`<service>.<namespace>...:<port>`). */
    static async open(cluster: TestCluster, namespace: string, redisAddress: string): Promise<ClusterRedisHa> {
        const api = cluster.api;
        const statefulSets = await api.list(`/apis/apps/v1/namespaces/${namespace}/statefulsets`);
        const nodes = statefulSets.find((s) =>
            (s.spec.template.spec.containers as KubeObject[]).some((c) => c.name === SENTINEL_CONTAINER),
        );
        if (!nodes) throw new Error(`${namespace}: no StatefulSet runs a ${SENTINEL_CONTAINER} container (redis.mode ha)`);
        const podSpec = nodes.spec.template.spec;
        const configMap = (podSpec.volumes as KubeObject[]).find((v) => v.configMap)?.configMap.name as string;
        const files = (await api.get(`/api/v1/namespaces/${namespace}/configmaps/${configMap}`)).data as Record<string, string>;
        const secretVolume = (podSpec.volumes as KubeObject[]).find((v) => v.secret)?.secret;
        const secret = await api.get(`/api/v1/namespaces/${namespace}/secrets/${secretVolume.secretName}`);
        const password = Buffer.from(secret.data[secretVolume.items?.[0]?.key ?? "password"], "base64").toString("utf8");
        const monitor = /^sentinel monitor (\S+) \S+ \d+ (\d+)$/m.exec(files["sentinel.conf"]);
        if (!monitor) throw new Error(`ConfigMap ${configMap}: sentinel.conf has no sentinel monitor line`);
        const [, masterName, quorum] = monitor;

        const [serviceName, serviceNamespace] = redisAddress.split(":")[0].split(".");
        const service = await api.get(`/api/v1/namespaces/${serviceNamespace}/services/${serviceName}`);
        const servicePort = Number(redisAddress.split(":")[1]);
        const pods = Array.from({ length: nodes.spec.replicas as number }, (_, i) => `${nodes.metadata.name}-${i}`);
        const podObjects = await Promise.all(pods.map((p) => api.get(`/api/v1/namespaces/${namespace}/pods/${p}`)));
        const portOf = (container: string): number =>
            (podSpec.containers as KubeObject[]).find((c) => c.name === container)?.ports?.[0]?.containerPort as number;
        const portal = await openPortal(cluster.controlPlane.netnsPath, cluster.dir, [
            { host: service.spec.clusterIP, port: servicePort },
            ...podObjects.flatMap((p) => [
                { host: p.status.podIP as string, port: portOf(REDIS_CONTAINER) },
                { host: p.status.podIP as string, port: portOf(SENTINEL_CONTAINER) },
            ]),
        ]);
        const [haproxy, ...perNode] = portal.urls.map(endpointOf);
        const governing = nodes.spec.serviceName as string;
        return new ClusterRedisHa(
            api,
            namespace,
            podObjects.map((p, i) => ({
                pod: p.metadata.name,
                names: [p.status.podIP, `${p.metadata.name}.${governing}.${namespace}.svc.cluster.local`],
                redis: perNode[2 * i],
                sentinel: perNode[2 * i + 1],
            })),
            haproxy,
            password,
            masterName,
            Number(quorum),
            2 * sentinelSetting(files["sentinel.conf"], "failover-timeout", masterName) + 3000,
            portal,
        );
    }

    get nodeCount(): number {
        return this.nodes.length;
    }

    private nodeNamed(host: string): number | undefined {
        const i = this.nodes.findIndex((n) => n.names.includes(host));
        return i < 0 ? undefined : i;
    }

    /** Node index named by at least a quorum of Sentinels, or undefined. */
    async sentinelMaster(): Promise<number | undefined> {
        const votes = new Map<number, number>();
        await Promise.all(
            this.nodes.map(async (n) => {
                try {
                    const r = await command(n.sentinel, this.password, ["SENTINEL", "get-master-addr-by-name", this.masterName], 1000);
                    const node = Array.isArray(r) && r.length === 2 ? this.nodeNamed(String(r[0])) : undefined;
                    if (node !== undefined) votes.set(node, (votes.get(node) ?? 0) + 1);
                } catch {
                    // An unreachable Sentinel simply does not vote.
                }
            }),
        );
        for (const [node, v] of votes) if (v >= this.quorum) return node;
        return undefined;
    }

    /** A replica of the current master with its link up, its first sync done and a non-zero priority. */
    async isSyncedReplica(i: number): Promise<boolean> {
        const master = await this.sentinelMaster();
        if (master === undefined || master === i) return false;
        const info = parseInfo(await command(this.nodes[i].redis, this.password, ["INFO", "replication"], 500));
        return (
            info.role === "slave" &&
            this.nodeNamed(info.master_host) === master &&
            info.master_link_status === "up" &&
            info.master_sync_in_progress === "0" &&
            Number(info.slave_priority) > 0
        );
    }

    /** Every Sentinel sees the others and every replica; every replica is synced; HAProxy acknowledges a write. */
    async waitHealthy(timeoutMs: number): Promise<void> {
        const n = this.nodeCount;
        await waitFor(
            "a healthy Redis HA",
            timeoutMs,
            async () => {
                try {
                    const master = await this.sentinelMaster();
                    if (master === undefined) return false;
                    for (const node of this.nodes) {
                        const r = await command(node.sentinel, this.password, ["SENTINEL", "MASTER", this.masterName], 1000);
                        const f = Array.isArray(r) ? replyFields(r) : {};
                        if (Number(f["num-slaves"]) !== n - 1 || Number(f["num-other-sentinels"]) !== n - 1) return false;
                        if ((f.flags ?? "") !== "master") return false;
                    }
                    for (let i = 0; i < n; i++) if (i !== master && !(await this.isSyncedReplica(i))) return false;
                    const c = connect(this.haproxy, this.password, 1000);
                    try {
                        await c.connect();
                        await c.set("__health__", String(Date.now()));
                        return Number(await c.call("WAIT", "1", "1000")) >= 1;
                    } finally {
                        c.disconnect();
                    }
                } catch {
                    return false;
                }
            },
            250,
        );
    }

    /** The redis-server process of node i, from its pod's status. */
    private async redisProcess(i: number): Promise<number> {
        const pod = await this.api.get(`/api/v1/namespaces/${this.namespace}/pods/${this.nodes[i].pod}`);
        const status = (pod.status.containerStatuses as KubeObject[]).find((c) => c.name === REDIS_CONTAINER);
        return containerProcess(status?.containerID, "redis-server");
    }

    /** SIGKILLs node i's redis-server: its container crashes, and the node agent restarts it. */
    async killRedis(i: number): Promise<void> {
        process.kill(await this.redisProcess(i), "SIGKILL");
    }

    /** SIGSTOP (true) or SIGCONT (false) to node i's redis-server: a hung process that still holds its sockets. */
    async freezeRedis(i: number, frozen: boolean): Promise<void> {
        process.kill(await this.redisProcess(i), frozen ? "SIGSTOP" : "SIGCONT");
    }

    close(): Promise<void> {
        return this.portal.close();
    }
}
