/**
 * The patched controller (images/amalgam8, patch 0006) from the staging stack's rendered container,
 * in front of the loopback HA Redis the stack renders: a rule write is acknowledged only once a
 * replica has it. With every replica frozen the master still takes the write (within
 * min-replicas-max-lag) and upstream answers 201; a failover then loses that rule. The patched
 * controller answers 5xx within its WAIT timeout, and the transaction stays whole: rules and
 * revision moved together or not at all.
 */
import { strict as assert } from "assert";
import { WRITE_REPLICA_TIMEOUT_MS } from "../../components/amalgam8";
import { waitFor } from "../../cli/process";
import { LoopbackControlPlane, startRenderedControlPlane } from "../../harness/loopback/stack";
import { httpClient } from "../../cli/smoke/http";
import { renderStack, stackConfig } from "../support/program";

interface RulesAnswer {
    readonly rules?: { readonly id: string; readonly destination: string }[];
    readonly revision?: number;
}

describe("the patched controller acknowledges a rule only once a replica has it (real controller, real Redis HA)", function () {
    let plane: LoopbackControlPlane | undefined;

    after(async function () {
        this.timeout(60_000);
        await plane?.stop();
    });

    it("answers 5xx while no replica takes a write, with rules and revision whole; 201 again once one does", async function () {
        this.timeout(120_000);
        const rendered = await renderStack(stackConfig("staging"));
        const p = await startRenderedControlPlane(
            { objects: rendered.objects, outputs: rendered.run.outputs },
            {
                variant: "patched",
                maxReplicas: 1,
            },
        );
        plane = p;
        const cluster = p.redis.cluster;
        assert.ok(cluster, "the staging stack renders an HA Redis");
        const controller = p.controllers[0];
        await waitFor("the controller to answer /health", 20_000, async () => {
            const r = await fetch(`${controller.url}/health`, { signal: AbortSignal.timeout(2_000) }).catch(() => undefined);
            return r?.status === 200;
        });
        const http = httpClient(controller.url, undefined, 10_000);
        const post = (destination: string) =>
            http("POST", "/v1/rules", { rules: [{ destination, route: { backends: [{ tags: ["v1"] }] } }] });
        const read = async (): Promise<RulesAnswer> => (await http("GET", "/v1/rules")).body as RulesAnswer;

        assert.equal((await post("before")).status, 201);
        const before = await read();

        const master = await waitFor("a master", 10_000, () => cluster.sentinelMaster());
        const replicas = [0, 1, 2].filter((i) => i !== master);
        for (const i of replicas) cluster.freezeRedis(i);
        let frozen: { status: number; ms: number; after: RulesAnswer };
        try {
            const started = Date.now();
            const answer = await post("frozen");
            frozen = { status: answer.status, ms: Date.now() - started, after: await read() };
        } finally {
            for (const i of replicas) cluster.resumeRedis(i);
        }
        assert.ok(frozen.status >= 500, `HTTP ${frozen.status} for a write no replica has: it must not be acknowledged`);
        assert.ok(frozen.ms >= WRITE_REPLICA_TIMEOUT_MS - 100, `answered after ${frozen.ms} ms, before the WAIT timeout`);
        const hasFrozen = (frozen.after.rules ?? []).some((r) => r.destination === "frozen");
        const bumped = Number(frozen.after.revision) - Number(before.revision);
        assert.equal(bumped, hasFrozen ? 1 : 0, `rule stored ${hasFrozen}, revision moved by ${bumped}: half a write`);

        await cluster.waitHealthy(30_000);
        assert.equal((await post("after")).status, 201, "a write once the replicas are back");
    });
});
