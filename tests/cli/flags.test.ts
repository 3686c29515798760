import { strict as assert } from "assert";
import { parseFlags } from "../../cli/flags";

const FLAGS = {
    "--runs": { kind: "integer", min: 1, max: 20 },
    "--objects": { kind: "integers", min: 1, max: 100 },
    "--images": { kind: "choice", values: ["upstream", "patched"] },
    "--json": { kind: "boolean" },
} as const;

describe("declared command-line flags (every bench's parser)", () => {
    it("returns only the flags given, typed, in either spelling", () => {
        assert.deepEqual(parseFlags([], FLAGS), {});
        assert.deepEqual(parseFlags(["--runs=3", "--objects", "5,7", "--images", "patched", "--json"], FLAGS), {
            "--runs": 3,
            "--objects": [5, 7],
            "--images": "patched",
            "--json": true,
        });
    });

    it("refuses bad input with one message naming the flag and what it takes", () => {
        const refused = (argv: string[], message: string) => assert.throws(() => parseFlags(argv, FLAGS), { message });
        refused(["--runs", "0"], '--runs: "0" is not an integer from 1 to 20');
        refused(["--runs", "-1"], '--runs: "-1" is not an integer from 1 to 20');
        refused(["--runs"], "--runs needs a value");
        refused(["--runs", "1e1"], '--runs: "1e1" is not an integer from 1 to 20');
        refused(["--objects", "5,,7"], '--objects: "" is not an integer from 1 to 100');
        refused(["--images", "latest"], '--images: "latest" is not one of upstream, patched');
        refused(["--json=yes"], "--json takes no value");
        refused(["--runs", "2", "--runs", "3"], "--runs given twice");
        refused(["--kills", "2"], "unknown flag --kills (see --help)");
        refused(["stray"], 'unexpected argument "stray" (see --help)');
    });
});
