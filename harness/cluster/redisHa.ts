/**
 * A deployed stack's Redis HA as the test cluster runs it: the Redis StatefulSet's pods (redis-server
 * and a Sentinel each) and the Service in front of HAProxy, found from the objects the API server
 * holds, reached through a portal; faults are signals to the pods' real processes, and what follows
 * (the container restarted, Sentinel failing over) is the cluster's own doing.
 */
import type { Endpoint } from "../../cli/process";
import { RedisHaTopology } from "../loopback/redisTopology";
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

export class ClusterRedisHa extends RedisHaTopology {
    private constructor(
        private readonly api: KubeApi,
        readonly namespace: string,
        private readonly nodes: readonly Node[],
        /** HAProxy, through the Service that the stack's redisAddress names. */
        private readonly haproxy: Endpoint,
        password: string,
        masterName: string,
        quorum: number,
        /** Sentinel fails the same master over again only after 2 x failover-timeout (plus slack). */
        private readonly spacingMs: number,
        private readonly portal: Portal,
    ) {
        super(password, masterName, quorum);
    }

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

    get haproxyEndpoints(): readonly Endpoint[] {
        return [this.haproxy];
    }

    redisEndpoint(i: number): Endpoint {
        return this.nodes[i].redis;
    }

    sentinelEndpoint(i: number): Endpoint {
        return this.nodes[i].sentinel;
    }

    get faultSpacingMs(): number {
        return this.spacingMs;
    }

    /** Every pod listens on the same ports: Sentinel names a node by its pod address or DNS name. */
    protected nodeAt(host: string): number | undefined {
        const i = this.nodes.findIndex((n) => n.names.includes(host));
        return i < 0 ? undefined : i;
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
