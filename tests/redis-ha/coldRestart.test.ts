/**
 * A cold restart on real servers: every redis-server and Sentinel SIGKILLed at once under writes,
 * then started one pod at a time in the worst order: first a node that lost its volume (no data,
 * no Sentinel state), then the node that was master before the last failover (its data is older),
 * and last, long after the others could have elected one of themselves, the node with the newest
 * data.
 *
 * What must hold: no node but the one with the newest data ever reports role:master, every write
 * acknowledged before the cut is readable afterwards, and the cluster converges on that node with
 * every other node replicating it. The writers wait for one replica (WAIT 1) so that the failover
 * before the cut loses nothing by itself: whatever is missing is the cold start's doing.
 */
import { strict as assert } from "assert";
import { sleep, waitFor } from "../../cli/process";
import { REDIS_HA_PREREQUISITES, requirePrerequisites } from "../../harness/loopback/prerequisites";
import { RedisHaCluster } from "../../harness/loopback/redisCluster";
import { ContinuousWriter, verifyAckedWrites } from "../../harness/loopback/redisWriter";

/** Watches every node's role until stopped; the nodes other than `allowed` that ever said role:master. */
function watchMasters(c: RedisHaCluster, allowed: number): { stop(): Promise<number[]> } {
    const seen = new Set<number>();
    let running = true;
    const loop = (async () => {
        while (running) {
            await Promise.all(
                Array.from({ length: c.nodeCount }, async (_, i) => {
                    if (i === allowed) return;
                    const info = await c.info(i, "replication", 300).catch(() => undefined);
                    if (info?.role === "master") seen.add(i);
                }),
            );
            await sleep(100);
        }
    })();
    return {
        async stop() {
            running = false;
            await loop;
            return [...seen];
        },
    };
}

describe("Redis HA through a cold restart (loopback processes)", function () {
    let cluster: RedisHaCluster | undefined;
    let writer: ContinuousWriter | undefined;

    after(async function () {
        this.timeout(60_000);
        await writer?.stop();
        await cluster?.stop();
    });

    it("every node killed, started empty first and newest last: only the newest becomes master, nothing acked lost", async function () {
        this.timeout(240_000);
        requirePrerequisites(REDIS_HA_PREREQUISITES, "The Redis cold-restart test");
        const c = await RedisHaCluster.start({ label: "redis-cold-restart" });
        cluster = c;
        const w = new ContinuousWriter({
            endpoint: c.haproxyEndpoint,
            password: c.password,
            nodeOfPort: (p) => c.nodeOfPort(p),
            writers: 2,
            keyPrefix: "cold",
        });
        writer = w;
        w.start();
        const older = await waitFor("a master named by a quorum of Sentinels", 10_000, () => c.sentinelMaster());
        await waitFor("an acknowledged write", 10_000, async () => w.firstAckAfter(0) !== undefined);

        // The master fails over and stays down: its data stops there.
        const failedOver = await c.killRedis(older);
        const newest = await c.waitForNewMaster(older, 30_000);
        await waitFor("writes acknowledged by the new master", 30_000, async () => w.firstAckAfter(failedOver, older));
        await sleep(2000);
        const empty = [0, 1, 2].find((i) => i !== older && i !== newest) as number;

        await c.stopEveryNode("SIGKILL");
        const cut = Date.now();
        await w.stop();
        c.loseVolume(empty);

        const watch = watchMasters(c, newest);
        let others: number[];
        try {
            await c.startNode(empty);
            await c.startNode(older);
            // Long enough for the two Sentinels to see the newest node down and try to elect another.
            const s = c.layout.sentinel;
            await sleep(s.downAfterMilliseconds + s.failoverTimeout + 2000);
            await c.startNode(newest);
            try {
                await c.waitHealthy(90_000);
            } catch (e) {
                throw new Error(`no healthy cluster after the cold restart: ${(e as Error).message}\n${c.logs(25)}`, { cause: e });
            }
        } finally {
            others = await watch.stop();
        }
        assert.deepEqual(others, [], `nodes other than node ${newest} (the newest data) that became master`);
        assert.equal(await c.sentinelMaster(), newest);

        const acked = w.records.filter((r) => r.acked && r.tDone < cut);
        const missing = await verifyAckedWrites(
            c.haproxyEndpoint,
            c.password,
            acked.map((r) => r.key),
        );
        console.log(
            `      node ${older} failed over to node ${newest}; every node killed; node ${empty} (volume lost), ` +
                `node ${older}, then node ${newest} started: ${missing.length} of ${acked.length} acknowledged writes lost, ` +
                `healthy ${((Date.now() - cut) / 1000).toFixed(1)} s after the kill`,
        );
        assert.deepEqual(missing.slice(0, 5), [], "acknowledged writes lost across the cold restart");
    });
});
