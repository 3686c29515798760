import { strict as assert } from "assert";
import { median, percentile, round } from "../../tools/bench/stats";

describe("benchmark statistics", () => {
    it("takes the median of an odd or even count regardless of order, and 0 for none", () => {
        assert.equal(median([5, 1, 3]), 3);
        assert.equal(median([4, 1, 3, 2]), 2.5);
        assert.equal(median([]), 0);
    });

    it("takes the nearest-rank percentile", () => {
        const xs = Array.from({ length: 100 }, (_, i) => 100 - i);
        assert.equal(percentile(xs, 99), 99);
        assert.equal(percentile(xs, 100), 100);
        assert.equal(percentile([7], 99), 7);
        assert.equal(percentile([], 99), 0);
    });

    it("rounds to the given decimals", () => {
        assert.equal(round(1.23456), 1.23);
        assert.equal(round(1.23456, 3), 1.235);
    });
});
