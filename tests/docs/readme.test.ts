/**
 * The README is the front door and docs/ its reference: the commands they show must exist with the
 * flags shown (each parsed by its script's own parser), and the files they point at must be there.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { REPO_ROOT } from "../../cli/repoRoot";
import { PARSERS, SHELL_SCRIPTS, npmRuns } from "../support/npmRuns";

/** The user-facing markdown: the README, docs/ and the READMEs of the parts. */
const DOCS = [
    "README.md",
    "policy/README.md",
    "images/amalgam8/README.md",
    ...fs.readdirSync(path.join(REPO_ROOT, "docs")).map((f) => `docs/${f}`),
]
    .filter((f) => f.endsWith(".md"))
    .map((file) => ({ file, text: fs.readFileSync(path.join(REPO_ROOT, file), "utf8") }));
const README = (DOCS.find((d) => d.file === "README.md") as { text: string }).text;
const SCRIPTS: Record<string, string> = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")).scripts;

describe("README and docs/", () => {
    const runs = DOCS.flatMap((d) => npmRuns(d.text).map((r) => ({ ...r, file: d.file })));

    it("show npm run commands, and the finder really finds them", () => {
        assert.ok(
            npmRuns(README).some((r) => r.script === "check" && r.args.includes("--stack")),
            "the README shows npm run check -- --stack",
        );
        assert.deepEqual(npmRuns("`npm run -s check -- --stack dev --json | jq .`\n```sh\nnpm run bench:x -- --json # one line\n```\n"), [
            { script: "bench:x", args: ["--json"], text: "npm run bench:x -- --json # one line" },
            { script: "check", args: ["--stack", "dev", "--json"], text: "npm run -s check -- --stack dev --json | jq ." },
        ]);
        assert.deepEqual(npmRuns("`npm run cluster -- --for 600 [--keep]`")[0].args, ["--for", "600", "--keep"], "an optional flag");
    });

    it("every npm run <script> they show is a script of package.json", () => {
        for (const r of runs) assert.ok(r.script in SCRIPTS, `${r.file} shows "${r.text}", but package.json has no script ${r.script}`);
    });

    it("every flag they show is accepted by its script's argument parser", () => {
        const parsed = new Set<string>();
        for (const r of runs) {
            if (r.args.length === 0) continue;
            const parse = PARSERS[r.script];
            assert.ok(parse || r.script in SHELL_SCRIPTS, `${r.file} shows "${r.text}": add the parser of ${r.script} to PARSERS`);
            if (!parse) continue;
            assert.doesNotThrow(() => parse(r.args), `${r.file} shows "${r.text}"`);
            parsed.add(r.script);
        }
        for (const script of ["check", "smoke", "bench:failover", "bench:partition"])
            assert.ok(parsed.has(script), `no flags of ${script} shown`);
        for (const [script, parse] of Object.entries(PARSERS)) {
            assert.throws(() => parse(["--no-such-flag"]), `the parser of ${script} refuses an unknown flag`);
        }
    });

    it("pipe npm run output only with -s, since npm's banner would break --json", () => {
        for (const d of DOCS) {
            for (const line of d.text.split("\n")) {
                for (const m of line.matchAll(/\bnpm run\b([^|`\n]*)\|/g)) {
                    assert.match(m[1], /^\s+(-s|--silent)\b/, `${d.file}: "npm run${m[1]}|" pipes npm's banner`);
                }
            }
        }
    });

    it("every file or folder of the repository they link to exists", () => {
        for (const d of DOCS) {
            const links = [...d.text.matchAll(/\]\(([^)#\s]+)[^)]*\)/g)].map((m) => m[1]).filter((l) => !/^[a-z]+:/.test(l));
            for (const link of links) {
                assert.ok(fs.existsSync(path.join(REPO_ROOT, path.dirname(d.file), link)), `${d.file} links to ${link}`);
            }
        }
    });

    it("every policy config they pass to the policy pack exists", () => {
        const files = new Set(DOCS.flatMap((d) => [...d.text.matchAll(/\bpolicy\/config\/([a-z0-9-]+)\.json/g)].map((m) => m[1])));
        assert.ok(files.size > 0);
        for (const f of files) assert.ok(fs.existsSync(path.join(REPO_ROOT, "policy", "config", `${f}.json`)), `policy/config/${f}.json`);
    });
});
