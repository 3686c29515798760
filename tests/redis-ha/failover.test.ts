/**
 * Real processes on 127.0.0.1: 3 redis-server, 3 Sentinels, HAProxy, all configured and started
 * by the generated files. Writers do SET + WAIT 1 through HAProxy while the master is killed,
 * frozen, restarted through its preStop hook, restarted with its data lost, and restarted at once.
 */
import { strict as assert } from "assert";
import { sleep, waitFor } from "../../cli/process";
import { RedisHaCluster } from "../../harness/loopback/redisCluster";
import { ContinuousWriter, WriteRecord, verifyAckedWrites } from "../../harness/loopback/redisWriter";
import { SentinelEvents } from "../../harness/loopback/sentinelEvents";
import { REDIS_HA_PREREQUISITES, requirePrerequisites } from "../../harness/loopback/prerequisites";

describe("Redis HA failover through HAProxy (loopback processes)", function () {
    let cluster: RedisHaCluster | undefined;
    let events: SentinelEvents | undefined;
    let writer: ContinuousWriter | undefined;
    let lastCrashFault = 0;
    let suiteStart = 0;

    before(async function () {
        this.timeout(60000);
        // Missing packages must fail the suite, not skip it.
        requirePrerequisites(REDIS_HA_PREREQUISITES, "The Redis HA failover tests");
        suiteStart = Date.now();
        cluster = await RedisHaCluster.start({ label: "redis-ha-test" });
        events = new SentinelEvents(cluster);
        await events.start();
        writer = new ContinuousWriter({
            endpoint: cluster.haproxyEndpoint,
            password: cluster.password,
            nodeOfPort: (p) => cluster?.nodeOfPort(p),
        });
        writer.start();
        const t = Date.now();
        await waitFor("the first acknowledged write", 10000, async () => writer?.firstAckAfter(t));
    });

    after(async function () {
        this.timeout(60000);
        await writer?.stop();
        events?.stop();
        await cluster?.stop();
    });

    afterEach(function () {
        if (this.currentTest?.state === "failed" && cluster) {
            console.log(`--- Sentinel events\n${events?.timeline(suiteStart) ?? ""}\n--- process logs\n${cluster.logs(25)}`);
        }
    });

    function setup(): { c: RedisHaCluster; w: ContinuousWriter; ev: SentinelEvents } {
        assert.ok(cluster && writer && events, "cluster not started (see the before-all hook failure)");
        return { c: cluster, w: writer, ev: events };
    }

    async function currentMaster(c: RedisHaCluster): Promise<number> {
        return waitFor("a master named by a quorum of Sentinels", 10000, () => c.sentinelMaster());
    }

    /** Waits for the first write acknowledged after `t0` by a node other than `oldMaster`; reports the figures. */
    async function writesResumed(w: ContinuousWriter, t0: number, oldMaster: number, what: string): Promise<WriteRecord> {
        const first = await waitFor(`an acknowledged write through HAProxy after the ${what}`, 30000, async () =>
            w.firstAckAfter(t0, oldMaster),
        );
        const failed = w.failedBetween(t0, first.tDone).length;
        const refused = w.connectFailuresBetween(t0, first.tDone);
        const seconds = ((first.tDone - t0) / 1000).toFixed(2);
        console.log(`      ${what}: first acknowledged write after ${seconds} s (${failed} failed writes, ${refused} refused connections)`);
        return first;
    }

    async function assertNoAckedWriteLost(c: RedisHaCluster, w: ContinuousWriter): Promise<void> {
        const acked = w.ackedKeys();
        assert.ok(acked.length > 0, "no write was acknowledged at all");
        const missing = await verifyAckedWrites(c.haproxyEndpoint, c.password, acked);
        assert.deepEqual(missing.slice(0, 10), [], `${missing.length} of ${acked.length} acknowledged writes are missing`);
    }

    function assertNoStaleMasterWrite(w: ContinuousWriter, ev: SentinelEvents): void {
        const stale = w.staleMasterWrites(ev.switches());
        assert.equal(stale.length, 0, `a stale master accepted ${stale.length} write(s), e.g. ${JSON.stringify(stale.slice(0, 3))}`);
    }

    async function rejoined(c: RedisHaCluster, node: number, t0: number, timeoutMs: number): Promise<void> {
        await c.waitForReplica(node, timeoutMs);
        console.log(`      node ${node} is a synced replica again ${((Date.now() - t0) / 1000).toFixed(2)} s after its restart/resume`);
    }

    /**
     * Heals the cluster, waits until Sentinel may fail over again (no second failover of the same
     * master within 2 x failover-timeout), and returns the master about to be faulted.
     */
    async function beforeCrashFault(c: RedisHaCluster): Promise<{ master: number; t0: number }> {
        await c.heal();
        const wait = lastCrashFault + c.faultSpacingMs - Date.now();
        if (wait > 0) await sleep(wait);
        const master = await currentMaster(c);
        const t0 = Date.now();
        lastCrashFault = t0;
        return { master, t0 };
    }

    it("(a) kill -9 of the master: writes resume on a new master, old master rejoins as replica, no acked write lost", async function () {
        this.timeout(90000);
        const { c, w, ev } = setup();
        const { master, t0 } = await beforeCrashFault(c);
        const dead = await c.killRedis(master);
        const first = await writesResumed(w, t0, master, "kill -9");
        const newMaster = await c.waitForNewMaster(master, 10000);
        assert.equal(w.firstAckAfter(dead)?.node, newMaster, "a write after the kill was acknowledged by a node other than the new master");
        assert.equal(first.node, newMaster, "writes resumed on a node the Sentinels do not name as master");

        const restart = Date.now();
        await c.restartRedis(master);
        await rejoined(c, master, restart, 30000);
        await assertNoAckedWriteLost(c, w);
        assertNoStaleMasterWrite(w, ev);
    });

    it(
        "(b) SIGSTOP of the master: writes resume elsewhere, " + "the resumed old master rejoins as replica, no acked write lost",
        async function () {
            this.timeout(120000);
            const { c, w, ev } = setup();
            const { master, t0 } = await beforeCrashFault(c);
            c.freezeRedis(master);
            let first: WriteRecord;
            try {
                first = await writesResumed(w, t0, master, "SIGSTOP");
                await c.waitForNewMaster(master, 10000);
                // Stay frozen past min-replicas-max-lag, then come back as a stale master.
                await sleep(Math.max(0, t0 + 10000 - Date.now()));
            } finally {
                c.resumeRedis(master);
            }
            const resumed = Date.now();
            // 100 ms: a write already on its way when SIGSTOP landed may still complete.
            assert.equal(w.firstAckAfter(t0 + 100)?.node, first.node, "the frozen master acknowledged a write sent after the freeze");
            await rejoined(c, master, resumed, 60000);
            await assertNoAckedWriteLost(c, w);
            assertNoStaleMasterWrite(w, ev);
        },
    );

    it("(c) restart of the master through its preStop hook: writes resume, old master rejoins, no acked write lost", async function () {
        this.timeout(90000);
        const { c, w, ev } = setup();
        await c.heal();
        const master = await currentMaster(c);
        const t0 = Date.now();
        const { preStopOutput } = await c.gracefulRestart(master);
        assert.match(preStopOutput, /new master/, `prestop.sh did not report a new master:\n${preStopOutput}`);
        // Writes acknowledged by the old master before its pause are fine; what counts is the new master.
        const first = await writesResumed(w, t0, master, "preStop + restart");
        assert.equal(first.node, await c.sentinelMaster(), "writes resumed on a node the Sentinels do not name as master");
        await rejoined(c, master, t0, 30000);
        await assertNoAckedWriteLost(c, w);
        assertNoStaleMasterWrite(w, ev);
    });

    it(
        "(d) a master restarted with an empty data dir waits for the failover " + "and rejoins as replica, never as an empty master",
        async function () {
            this.timeout(120000);
            const { c, w, ev } = setup();
            const { master, t0 } = await beforeCrashFault(c);
            await c.killRedis(master);
            // A lost volume: the Sentinels still name this node, its peers hold the data.
            c.wipeData(master);
            await c.startRedis(master, 60000);
            assert.match(c.tail(`redis-${master}`, 50), /Sentinels name this node as master, but it has no data and peers do: waiting/);
            const conf = c.runtimeRedisConf(master);
            assert.match(conf, /^replicaof 127\.0\.0\.1 \d+$/m, "the empty node was configured as master");
            assert.match(conf, /^replica-priority 0$/m, "an unsynced replica must not be promotable");
            await writesResumed(w, t0, master, "kill -9 + restart with empty data");
            assert.notEqual(await c.sentinelMaster(), master);
            await rejoined(c, master, t0, 30000);
            await assertNoAckedWriteLost(c, w);
            assertNoStaleMasterWrite(w, ev);
        },
    );

    it(
        "(e) a master killed and restarted at once, before Sentinel notices (as the kubelet restarts a crashed container), " +
            "waits for the failover and rejoins as replica, never as master from its AOF",
        async function () {
            this.timeout(120000);
            const { c, w, ev } = setup();
            const { master, t0 } = await beforeCrashFault(c);
            await c.killRedis(master);
            await c.startRedis(master, 60000);
            assert.match(c.tail(`redis-${master}`, 50), /Sentinels name this node as master, but it restarted before they noticed/);
            assert.match(c.runtimeRedisConf(master), /^replicaof 127\.0\.0\.1 \d+$/m, "the restarted node was configured as master");
            await writesResumed(w, t0, master, "kill -9 + immediate restart");
            assert.notEqual(await c.sentinelMaster(), master);
            await rejoined(c, master, t0, 30000);
            await assertNoAckedWriteLost(c, w);
            assertNoStaleMasterWrite(w, ev);
        },
    );

    it("over the whole run: every acknowledged write is readable and no stale master accepted a write", async function () {
        this.timeout(60000);
        const { c, w, ev } = setup();
        await w.stop();
        const acked = w.ackedKeys().length;
        console.log(`      ${w.records.length} writes sent, ${acked} acknowledged, ${ev.switches().length} master switches`);
        assert.ok(ev.switches().length >= 5, `expected 5 master switches, saw ${ev.switches().length}`);
        await assertNoAckedWriteLost(c, w);
        assertNoStaleMasterWrite(w, ev);
    });
});
