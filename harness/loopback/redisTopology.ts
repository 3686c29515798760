/**
 * A Redis HA seen through its endpoints: the node a quorum of Sentinels names master, whether a
 * replica is synced, whether every HAProxy acknowledges a write. It only asks. Two kinds: the
 * loopback cluster's (LayoutTopology: the generated layout, nodes told apart by port; starting,
 * stopping and breaking them is RedisHaCluster's) and a test cluster's pods (ClusterRedisHa,
 * harness/cluster/redisHa.ts: nodes told apart by pod address or DNS name).
 */
import { RedisHaLayout, minimumFaultSpacingMs } from "../../components/redis/haConfig";
import { Endpoint, waitFor } from "../../cli/process";
import { command, connect, parseInfo, replyFields } from "./redisClient";

/** Where this process reaches each server, when not at the layout's own addresses (a partition lab's portals). */
export interface Reach {
    readonly redis: readonly Endpoint[];
    readonly sentinel: readonly Endpoint[];
    readonly haproxy: readonly Endpoint[];
}

export abstract class RedisHaTopology {
    protected constructor(
        /** The AUTH password of every redis-server, Sentinel and of HAProxy's checks. */
        readonly password: string,
        readonly masterName: string,
        readonly quorum: number,
    ) {}

    abstract get nodeCount(): number;

    /** Every HAProxy in front of the nodes, as this process reaches them. */
    abstract get haproxyEndpoints(): readonly Endpoint[];

    abstract redisEndpoint(i: number): Endpoint;

    abstract sentinelEndpoint(i: number): Endpoint;

    /** Spacing between crash faults that Sentinel's failover-timeout allows. */
    abstract get faultSpacingMs(): number;

    /** The node that Sentinel or a replica means by this address, or undefined. */
    protected abstract nodeAt(host: string, port: number): number | undefined;

    get haproxyEndpoint(): Endpoint {
        return this.haproxyEndpoints[0];
    }

    async info(i: number, section = "replication", timeoutMs = 1000): Promise<Record<string, string>> {
        return parseInfo(await command(this.redisEndpoint(i), this.password, ["INFO", section], timeoutMs));
    }

    /** Node index named by at least a quorum of Sentinels, or undefined. */
    async sentinelMaster(): Promise<number | undefined> {
        const votes = new Map<number, number>();
        await Promise.all(
            Array.from({ length: this.nodeCount }, async (_, s) => {
                try {
                    const r = await command(
                        this.sentinelEndpoint(s),
                        this.password,
                        ["SENTINEL", "get-master-addr-by-name", this.masterName],
                        1000,
                    );
                    const node = Array.isArray(r) && r.length === 2 ? this.nodeAt(String(r[0]), Number(r[1])) : undefined;
                    if (node !== undefined) votes.set(node, (votes.get(node) ?? 0) + 1);
                } catch {
                    // An unreachable Sentinel simply does not vote.
                }
            }),
        );
        for (const [node, v] of votes) if (v >= this.quorum) return node;
        return undefined;
    }

    /** Waits until a quorum of Sentinels names a master other than `not`; returns its index. */
    async waitForNewMaster(not: number | undefined, timeoutMs: number): Promise<number> {
        return waitFor(`Sentinels to agree on a master other than node ${String(not)}`, timeoutMs, async () => {
            const m = await this.sentinelMaster();
            return m !== undefined && m !== not ? m : undefined;
        });
    }

    /** Replica of the current master with its link up, first sync done and a non-zero priority. */
    async isSyncedReplica(i: number): Promise<boolean> {
        const master = await this.sentinelMaster();
        if (master === undefined || master === i) return false;
        const info = await this.info(i, "replication", 500);
        return (
            info.role === "slave" &&
            this.nodeAt(info.master_host, Number(info.master_port)) === master &&
            info.master_link_status === "up" &&
            info.master_sync_in_progress === "0" &&
            Number(info.slave_priority) > 0
        );
    }

    async waitForReplica(i: number, timeoutMs: number): Promise<void> {
        await waitFor(`node ${i} to rejoin as a synced replica`, timeoutMs, () => this.isSyncedReplica(i), 100);
    }

    /** Every Sentinel sees the others and every replica; every replica is synced; every HAProxy acknowledges a write. */
    async waitHealthy(timeoutMs: number): Promise<void> {
        const n = this.nodeCount;
        await waitFor(
            "a healthy Redis HA",
            timeoutMs,
            async () => {
                const master = await this.sentinelMaster();
                if (master === undefined) return false;
                for (let s = 0; s < n; s++) {
                    const r = await command(this.sentinelEndpoint(s), this.password, ["SENTINEL", "MASTER", this.masterName], 1000);
                    const f = Array.isArray(r) ? replyFields(r) : {};
                    if (Number(f["num-slaves"]) !== n - 1 || Number(f["num-other-sentinels"]) !== n - 1) return false;
                    if ((f.flags ?? "") !== "master") return false;
                }
                for (let i = 0; i < n; i++) if (i !== master && !(await this.isSyncedReplica(i))) return false;
                for (const endpoint of this.haproxyEndpoints) {
                    const c = connect(endpoint, this.password, 1000);
                    try {
                        await c.connect();
                        await c.set("__health__", String(Date.now()));
                        if (Number(await c.call("WAIT", "1", "1000")) < 1) return false;
                    } finally {
                        c.disconnect();
                    }
                }
                return true;
            },
            250,
        );
    }
}

/** The loopback cluster's topology: the generated layout, each node on a port of its own. */
export class LayoutTopology extends RedisHaTopology {
    protected reach?: Reach;

    protected constructor(
        readonly layout: RedisHaLayout,
        password: string,
    ) {
        super(password, layout.masterName, layout.quorum);
    }

    get nodeCount(): number {
        return this.layout.nodes.length;
    }

    /** Every HAProxy in front of the nodes (one but in a partition lab). */
    get haproxyEndpoints(): readonly Endpoint[] {
        return this.reach?.haproxy ?? [{ host: this.layout.haproxy.bind, port: this.layout.haproxy.port }];
    }

    redisEndpoint(i: number): Endpoint {
        return this.reach?.redis[i] ?? { host: this.layout.nodes[i].host, port: this.layout.nodes[i].redisPort };
    }

    sentinelEndpoint(i: number): Endpoint {
        return this.reach?.sentinel[i] ?? { host: this.layout.nodes[i].host, port: this.layout.nodes[i].sentinelPort };
    }

    get faultSpacingMs(): number {
        return minimumFaultSpacingMs(this.layout.sentinel);
    }

    /** Node index of a redis port, or undefined. */
    nodeOfPort(port: number): number | undefined {
        const i = this.layout.nodes.findIndex((n) => n.redisPort === port);
        return i < 0 ? undefined : i;
    }

    protected nodeAt(_host: string, port: number): number | undefined {
        return this.nodeOfPort(port);
    }
}
