/**
 * A network partition on real servers and real links: each Redis node (redis-server + Sentinel, as
 * in a pod) and each of two HAProxies in a network namespace of its own on a PartitionLab. The
 * master is cut off from both replicas and the other Sentinels together with one HAProxy and its
 * clients, for 30 s, then healed. Clients write as the control plane does: one SET at a time, no
 * WAIT, acknowledged on OK.
 *
 * What must hold: the old master accepts writes only within min-replicas-max-lag of the cut (it then
 * counts no replica and refuses), the majority side elects a new master and writes go on there,
 * after the heal the cluster converges on one master with every node replicating it, and the only
 * acknowledged writes lost are those the old master accepted within that bound.
 */
import { strict as assert } from "assert";
import { sleep, waitFor } from "../../cli/process";
import { PARTITION_LAB_PREREQUISITES, requirePrerequisites } from "../../harness/loopback/prerequisites";
import { RedisHaCluster, haproxyMember, nodeMember } from "../../harness/loopback/redisCluster";
import { ContinuousWriter, plainWritersPerHaproxy, verifyAckedWrites } from "../../harness/loopback/redisWriter";

const PARTITION_MS = 30_000;

describe("Redis HA through a network partition (a namespace per node and HAProxy)", function () {
    let cluster: RedisHaCluster | undefined;
    const writers: ContinuousWriter[] = [];

    after(async function () {
        this.timeout(60_000);
        for (const w of writers) await w.stop();
        await cluster?.stop();
    });

    it("a master cut off with its clients: stale writes only within min-replicas-max-lag, then one master again", async function () {
        this.timeout(PARTITION_MS + 150_000);
        // Missing packages must fail the test, not skip it.
        requirePrerequisites(PARTITION_LAB_PREREQUISITES, "The Redis partition test");
        const c = await RedisHaCluster.start({ label: "redis-partition", partitionLab: { haproxies: 2 } });
        cluster = c;
        const lab = c.lab;
        assert.ok(lab);
        const oldMaster = await waitFor("a master named by a quorum of Sentinels", 10_000, () => c.sentinelMaster());
        const [majoritySide, masterSide] = plainWritersPerHaproxy(c, "side");
        writers.push(majoritySide, masterSide);
        for (const w of writers) w.start();
        await waitFor("writes acknowledged through both HAProxies", 10_000, async () =>
            writers.every((w) => w.firstAckAfter(0) !== undefined),
        );

        const cut = Date.now();
        lab.partition([nodeMember(oldMaster), haproxyMember(1)]);
        const newMaster = await c.waitForNewMaster(oldMaster, 30_000);
        const resumed = await waitFor("an acknowledged write on the majority side", 30_000, async () =>
            majoritySide.firstAckAfter(cut, oldMaster),
        );
        await sleep(cut + PARTITION_MS - Date.now());
        lab.heal();
        const healed = Date.now();
        try {
            await c.waitHealthy(60_000);
        } catch (e) {
            throw new Error(`no single master with every node replicating it 60 s after the heal: ${(e as Error).message}\n${c.logs(20)}`, {
                cause: e,
            });
        }
        assert.equal(await c.sentinelMaster(), newMaster, "the Sentinels changed the master again after the heal");
        await sleep(1000);
        for (const w of writers) await w.stop();

        const boundMs = (c.layout.minReplicasMaxLag + 2) * 1000;
        const staleAccepted = masterSide.records.filter((r) => r.setOk && r.node === oldMaster && r.tSend >= cut);
        const lateStale = staleAccepted.filter((r) => r.tSend > cut + boundMs);
        const acked = writers.flatMap((w) => w.records.filter((r) => r.acked));
        const missing = new Set(
            await verifyAckedWrites(
                c.haproxyEndpoint,
                c.password,
                acked.map((r) => r.key),
            ),
        );
        const lost = acked.filter((r) => missing.has(r.key));
        const inStaleWindow = (r: { node?: number; tSend: number }): boolean =>
            r.node === oldMaster && r.tSend >= cut && r.tSend <= cut + boundMs;
        const lostBeyondBound = lost.filter((r) => !inStaleWindow(r));
        const seconds = (ms: number): string => (ms / 1000).toFixed(1);
        const lastStale = staleAccepted.length > 0 ? seconds(Math.max(...staleAccepted.map((r) => r.tDone)) - cut) : "-";
        console.log(
            `      master ${oldMaster} cut off ${seconds(PARTITION_MS)} s: node ${newMaster} elected, first write on the majority side ` +
                `${seconds(resumed.tDone - cut)} s after the cut; ${staleAccepted.length} writes accepted by the old master since ` +
                `(last ${lastStale} s after it); ` +
                `${lost.length} of ${acked.length} acknowledged writes lost; converged ${seconds(Date.now() - healed)} s after the heal`,
        );
        assert.deepEqual(
            lateStale.map((r) => `${r.key} at +${seconds(r.tSend - cut)} s`).slice(0, 5),
            [],
            `the old master accepted writes later than min-replicas-max-lag + 2 s (${seconds(boundMs)} s) after the cut`,
        );
        assert.deepEqual(
            lostBeyondBound.map((r) => `${r.key} (node ${String(r.node)}, +${seconds(r.tSend - cut)} s)`).slice(0, 5),
            [],
            "acknowledged writes lost beyond the old master's bounded window",
        );
        assert.ok(
            majoritySide.records.some((r) => r.acked && r.node === newMaster && r.tSend > healed),
            "no write acknowledged by the new master after the heal",
        );
    });
});
