/**
 * A Redis master SIGKILL as sidecars see it, with the patched images, on a test cluster: the real
 * controller and registry (2 replicas each) of the rendered staging stack on its HA Redis, as the
 * API server holds them, under sidecar-like traffic (tools/bench/controlPlane.ts, one kill). The
 * redis-server's container crashes and is restarted, Sentinel fails over. Upstream's registry
 * answers 200 with an empty list whenever a Redis call fails; a sidecar would replace its routes
 * with it.
 */
import { strict as assert } from "assert";
import { runControlPlaneBench } from "../../tools/bench/controlPlane";
import { RequestKind, RequestRecord } from "../../tools/bench/requests";
import { BenchResult } from "../../tools/bench/controlPlaneReport";
import {
    CONFINEMENT_PREREQUISITES,
    REDIS_HA_PREREQUISITES,
    amalgam8Prerequisites,
    requirePrerequisites,
} from "../../harness/loopback/prerequisites";

const LISTS: RequestKind[] = ["listServices", "getService", "listInstances"];

function describeRecord(r: RequestRecord, t0: number): string {
    return `${r.kind} on registry ${r.replica} at +${((r.start - t0) / 1000).toFixed(2)} s: ${r.wrong ?? ""}`;
}

describe("Redis master kill under sidecar traffic (patched images, real binaries, a real control plane)", function () {
    let result: BenchResult | undefined;

    before(async function () {
        this.timeout(240000);
        // Missing binaries fail the suite, not skip it.
        requirePrerequisites(
            [...REDIS_HA_PREREQUISITES, ...CONFINEMENT_PREREQUISITES, ...amalgam8Prerequisites("patched")],
            "The Redis-fault cluster test",
        );
        // The burst fills the services' connection pools, so the kill breaks several pooled
        // connections of each registry, as it does in a busy mesh.
        result = await runControlPlaneBench(
            { images: "patched", kills: 1, freeze: false, json: false, steadyMs: 3000, burstBeforeFault: 12 },
            () => undefined,
        );
    });

    function run(): BenchResult {
        assert.ok(result, "the run did not complete (see the before-all hook failure)");
        return result;
    }

    it("killed the master under traffic: lists were asked from both registries while Redis failed over", () => {
        const r = run();
        assert.equal(r.faults.length, 1);
        const fault = r.faults[0];
        assert.ok(fault.recovered > fault.start, "the cluster did not recover");
        const during = r.records.filter((x) => LISTS.includes(x.kind) && x.start >= fault.start && x.start <= fault.recovered);
        for (const replica of [0, 1]) {
            assert.ok(
                during.filter((x) => x.replica === replica).length >= 10,
                `too few list requests to registry ${replica} during the failover`,
            );
        }
    });

    it("the registry never answers 200 with an empty or partial list while instances are registered", () => {
        const r = run();
        const wrong = r.records.filter((x) => LISTS.includes(x.kind) && x.wrong !== undefined);
        assert.deepEqual(
            wrong.slice(0, 5).map((x) => describeRecord(x, r.faults[0].start)),
            [],
            `${wrong.length} wrong list answer(s)`,
        );
    });

    it("no other wrong answer, no acknowledged write lost, no revision regression", () => {
        const r = run();
        assert.deepEqual(r.wrongByKind, {});
        assert.equal(r.ackedWritesLost, 0);
        assert.equal(r.revisionsWentBack + r.rulesWithoutRevision, 0);
    });
});
