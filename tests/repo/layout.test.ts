/**
 * Imports point one way, so that each part can be read (and the pack shipped) without the ones
 * after it: the product (components/ with index.ts, and policy/, which know nothing of each other),
 * then cli/, harness/ and tools/; tests/ may import any of them and nothing imports tests/.
 */
import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { REPO_ROOT } from "../../cli/repoRoot";

/** Each top-level part and the parts it may import from (itself always). */
const MAY_IMPORT: Record<string, readonly string[]> = {
    components: [],
    policy: [],
    "index.ts": ["components"],
    cli: ["components", "policy"],
    harness: ["components", "policy", "index.ts", "cli"],
    tools: ["components", "policy", "index.ts", "cli", "harness"],
    tests: ["components", "policy", "index.ts", "cli", "harness", "tools"],
};

const partOf = (file: string): string => file.split("/")[0];

/** Every relative import of the repository's TypeScript and JavaScript: [importer, imported file or folder]. */
function relativeImports(): Array<[string, string]> {
    const files = execFileSync("git", ["ls-files", "*.ts", "*.js", "*.mjs"], { cwd: REPO_ROOT, encoding: "utf8" })
        .split("\n")
        .filter((f) => f !== "" && fs.existsSync(path.join(REPO_ROOT, f)));
    const out: Array<[string, string]> = [];
    for (const file of files) {
        const text = fs.readFileSync(path.join(REPO_ROOT, file), "utf8");
        for (const [, spec] of text.matchAll(/(?:\bfrom|\brequire(?:\.resolve)?\(|\bimport\()\s*["'](\.\.?\/[^"']*)["']/g)) {
            out.push([file, path.posix.normalize(path.posix.join(path.posix.dirname(file), spec))]);
        }
    }
    return out;
}

describe("repository layout: imports point one way", () => {
    const imports = relativeImports();

    it("finds the imports between the parts", () => {
        for (const [from, to] of [
            ["tests", "cli"],
            ["tools", "harness"],
            ["harness", "cli"],
            ["cli", "policy"],
        ]) {
            assert.ok(
                imports.some(([f, t]) => partOf(f) === from && partOf(t) === to),
                `no import from ${from}/ into ${to}/ found`,
            );
        }
    });

    it("each part imports only the parts before it, the program and the pack know nothing of each other", () => {
        const wrong = imports
            .filter(([from, to]) => {
                const [a, b] = [partOf(from), partOf(to === "index" ? "index.ts" : to)];
                const allowed = MAY_IMPORT[a];
                return allowed !== undefined && a !== b && b in MAY_IMPORT && !allowed.includes(b);
            })
            .map(([from, to]) => `${from} imports ${to}`);
        assert.deepEqual(wrong, []);
    });
});
