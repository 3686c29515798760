import { strict as assert } from "assert";
import { longestGapSeconds } from "../../tools/bench/partition";
import { textTable } from "../../tools/bench/table";
import type { WriteRecord } from "../../tools/loopback/redisWriter";

const ack = (tDone: number, acked = true): WriteRecord => ({ key: `k${tDone}`, tSend: tDone - 1, tDone, node: 0, setOk: acked, acked });

describe("bench:partition's figures (pure)", () => {
    it("the longest time without an acknowledged write counts from the fault to the end, failures are gaps", () => {
        assert.equal(longestGapSeconds([ack(1000), ack(1500), ack(4500), ack(5000)], 0, 6000), 3);
        assert.equal(longestGapSeconds([ack(1000), ack(2000, false), ack(5000)], 0, 5000), 4);
        assert.equal(longestGapSeconds([], 1000, 3500), 2.5, "nothing acknowledged: the whole window");
        assert.equal(longestGapSeconds([ack(500), ack(9000)], 1000, 3000), 2, "acknowledgements outside the window do not count");
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
