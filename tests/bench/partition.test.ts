import { strict as assert } from "assert";
import { COLD_ROLES, flapSchedule, longestGapSeconds, permutations } from "../../tools/bench/partition";
import { textTable } from "../../tools/bench/table";

describe("bench:partition's figures and schedules (pure)", () => {
    it("the longest time without an acknowledged write counts from the fault to the end", () => {
        assert.equal(longestGapSeconds([1000, 1500, 4500, 5000], 0, 6000), 3);
        assert.equal(longestGapSeconds([5000, 1000], 0, 5000), 4, "in time order, whatever order they were recorded in");
        assert.equal(longestGapSeconds([], 1000, 3500), 2.5, "nothing acknowledged: the whole window");
        assert.equal(longestGapSeconds([500, 9000], 1000, 3000), 2, "acknowledgements outside the window do not count");
    });

    it("a cold restart is tried in every start order of the three nodes, each once", () => {
        const orders = permutations(COLD_ROLES);
        assert.equal(orders.length, 6);
        assert.equal(new Set(orders.map((o) => o.join("|"))).size, 6);
        for (const o of orders) assert.deepEqual([...o].sort(), [...COLD_ROLES].sort());
        assert.ok(
            orders.some((o) => o[2] === "new master"),
            "the node with the newest data started last is one of them",
        );
    });

    it("a flap keeps each link state 1-3 s, fills the time asked for, and is the same for the same seed", () => {
        const schedule = flapSchedule(60_000, 1);
        const durations = schedule.flat();
        assert.ok(
            durations.every((d) => d >= 1000 && d <= 3000),
            `durations outside 1-3 s: ${durations.join(", ")}`,
        );
        const total = durations.reduce((a, b) => a + b, 0);
        assert.ok(total >= 60_000 && total < 66_000, `total ${total} ms`);
        assert.ok(new Set(durations).size > 5, "not one duration repeated");
        assert.deepEqual(flapSchedule(60_000, 1), schedule);
        assert.notDeepEqual(flapSchedule(60_000, 2), schedule);
    });

    it("prints a table with the first column left-aligned and the others right-aligned", () => {
        assert.equal(
            textTable(
                ["name", "lost"],
                [
                    ["ours", "0"],
                    ["chart baseline", "12"],
                ],
            ),
            ["name            lost", "--------------  ----", "ours               0", "chart baseline    12"].join("\n"),
        );
    });
});
