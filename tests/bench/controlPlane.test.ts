import { strict as assert } from "assert";
import { parseArgs } from "../../tools/bench/controlPlane";
import { RequestRecord } from "../../tools/bench/requests";
import { Ledger, contradiction } from "../../cli/smoke/ledger";
import { BenchResult, FaultRecord, figuresPerFault, summary } from "../../tools/bench/controlPlaneReport";

const TTL = 20000;

function ledger(): Ledger {
    const l = new Ledger();
    l.renewed("a1", "a", 1000, 1010, TTL);
    l.renewed("a2", "a", 1000, 1010, TTL);
    l.renewed("b1", "b", 1000, 1010, TTL);
    l.ruleAcked("r1", 1100);
    l.ruleAcked("r2", 1200);
    return l;
}

describe("bench:control-plane: what counts as a wrong answer", () => {
    it("an empty or partial service or instance list while instances are registered", () => {
        const l = ledger();
        assert.match(String(contradiction(l, "listServices", 2000, 2100, { services: [] })), /^empty service list/);
        assert.match(String(contradiction(l, "listServices", 2000, 2100, { services: ["a"] })), /^partial service list: 1 of 2 missing/);
        assert.equal(contradiction(l, "listServices", 2000, 2100, { services: ["b", "a", "other"] }), undefined);
        assert.match(
            String(contradiction(l, "listInstances", 2000, 2100, { instances: [{ id: "a1" }] })),
            /^partial instance list: 2 of 3 missing/,
        );
        assert.match(String(contradiction(l, "getService", 2000, 2100, { instances: [] }, "a")), /^empty service instances/);
        assert.equal(contradiction(l, "getService", 2000, 2100, { instances: [{ id: "b1" }] }, "b"), undefined);
    });

    it("expects only what was acknowledged before the request and cannot have expired", () => {
        const l = ledger();
        // Registered while the request ran: not expected yet.
        l.renewed("c1", "c", 2500, 2600, TTL);
        assert.equal(contradiction(l, "listServices", 2550, 2700, { services: ["a", "b"] }), undefined);
        assert.match(String(contradiction(l, "listServices", 2650, 2700, { services: ["a", "b"] })), /partial service list: 1 of 3/);
        // A heartbeat acknowledged during the request does not hide the one acknowledged before it.
        l.renewed("a1", "a", 2500, 2600, TTL);
        assert.match(
            String(contradiction(l, "listInstances", 2550, 2700, { instances: [{ id: "a2" }, { id: "b1" }] })),
            /partial instance list: 1 of 3/,
        );
        // Past its TTL (less a margin) without a heartbeat, an instance may be gone.
        assert.equal(contradiction(l, "listServices", 20500, 20600, { services: ["a", "c"] }), undefined);
        assert.equal(contradiction(l, "listServices", 22000, 22100, { services: [] }), undefined);
    });

    it("fewer rules than acknowledged, or a revision lower than one already answered", () => {
        const l = ledger();
        assert.match(String(contradiction(l, "getRules", 1150, 1300, { rules: [], revision: 2 })), /^empty rule list/);
        assert.equal(contradiction(l, "getRules", 1150, 1300, { rules: [{ id: "r1" }], revision: 2 }), undefined);
        l.revisionAnswered(5, 1400);
        assert.match(
            String(contradiction(l, "getRules", 1500, 1600, { rules: [{ id: "r1" }, { id: "r2" }], revision: 0 })),
            /revision went backwards \(0 < 5\)/,
        );
        // An answer that overlapped the one with revision 5 may be older.
        assert.equal(contradiction(l, "getRules", 1390, 1600, { rules: [{ id: "r1" }, { id: "r2" }], revision: 4 }), undefined);
    });
});

describe("bench:control-plane: figures", () => {
    const rec = (start: number, status: number | undefined, wrong?: string): RequestRecord => ({
        kind: "listServices",
        replica: 0,
        start,
        end: start + 100,
        status,
        wrong,
    });
    const faults: FaultRecord[] = [
        { kind: "kill", node: 0, start: 1000, recovered: 5000 },
        { kind: "freeze", node: "all", start: 20000, recovered: 31000 },
    ];
    const records = [
        rec(0, 200),
        rec(1200, 500),
        rec(1500, 200, "empty service list"),
        rec(3000, undefined),
        rec(9000, 200),
        rec(21000, 503),
    ];

    it("counts each request for the fault before it, with the window from the first to the last bad answer", () => {
        const f = figuresPerFault(records, faults);
        assert.deepEqual(
            f.map((x) => [x.requests, x.failed, x.wrong]),
            [
                [1, 0, 0],
                [4, 2, 1],
                [1, 1, 0],
            ],
        );
        assert.equal(f[1].errorWindowSeconds, 1.9);
        assert.equal(f[1].maxMs, 100);
    });

    it("prints exactly the keys of the issue in --json", () => {
        const r: BenchResult = {
            images: "patched",
            records,
            faults,
            perFault: figuresPerFault(records, faults),
            ackedWritesLost: 0,
            revisionsWentBack: 1,
            rulesWithoutRevision: 1,
            wrongByKind: {},
        };
        const s = summary(r) as any;
        assert.deepEqual(Object.keys(s), [
            "faults",
            "images",
            "requests",
            "failedRequests",
            "wrongAnswers",
            "ackedWritesLost",
            "revisionRegressions",
            "errorWindowSeconds",
            "latencyMs",
        ]);
        assert.deepEqual(s.failedRequests, { perFault: { median: 1.5, max: 2 } });
        assert.deepEqual(s.wrongAnswers, { total: 1, perFault: { median: 0.5, max: 1 } });
        assert.equal(s.revisionRegressions, 2);
        assert.deepEqual(Object.keys(s.latencyMs), ["p99", "max"]);
    });

    it("parses its flags and refuses bad ones", () => {
        assert.deepEqual(parseArgs(["--images", "patched", "--kills=2", "--json"]), {
            images: "patched",
            kills: 2,
            freeze: true,
            json: true,
            steadyMs: 5000,
            burstBeforeFault: 0,
        });
        assert.throws(() => parseArgs(["--images", "latest"]), /^InputError: --images: "latest" is not one of upstream, patched$/);
        assert.throws(() => parseArgs(["--kills", "0"]), /^InputError: --kills: "0" is not an integer from 1 to 100$/);
        assert.throws(() => parseArgs(["--kills", "2.5"]), /--kills: "2.5" is not an integer/);
        assert.throws(() => parseArgs(["--freeze"]), /unknown flag --freeze \(see --help\)/);
        assert.throws(() => parseArgs(["--kills"]), /--kills needs a value/);
    });
});
