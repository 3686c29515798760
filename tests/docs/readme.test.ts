/**
 * The README is the front door: the commands it shows must exist with the flags shown, and the
 * files it points at must be there.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { parseArgs as parseCheckArgs } from "../../tools/check/args";
import { REPO_ROOT } from "../../tools/repoRoot";

const README = fs.readFileSync(path.join(REPO_ROOT, "README.md"), "utf8");
const SCRIPTS: Record<string, string> = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")).scripts;

/** The argument parsers of the scripts whose flags the README shows; a parser throws on a flag it does not accept. */
const PARSERS: Record<string, (argv: string[]) => unknown> = {
    check: parseCheckArgs,
};

interface NpmRun {
    readonly script: string;
    readonly args: string[];
    readonly text: string;
}

/** Splits a shell command line into words, honouring quotes; stops at a comment or a shell operator. */
function words(line: string): string[] {
    const out: string[] = [];
    const re = /"([^"]*)"|'([^']*)'|([^\s"']+)/g;
    for (const m of line.matchAll(re)) {
        const w = m[1] ?? m[2] ?? m[3];
        if (m[3] !== undefined && (/^(#|\||&&|;|>|2>)/.test(w) || w === "`")) break;
        out.push(w);
    }
    return out;
}

/** Every `npm run` the README shows, in code blocks and inline code. */
function npmRuns(markdown: string): NpmRun[] {
    const code: string[] = [];
    for (const block of markdown.matchAll(/```[^\n]*\n([\s\S]*?)```/g)) code.push(...block[1].split("\n"));
    const prose = markdown.replace(/```[^\n]*\n[\s\S]*?```/g, "");
    for (const inline of prose.matchAll(/`([^`\n]+)`/g)) code.push(inline[1]);
    const runs: NpmRun[] = [];
    for (const line of code) {
        for (const m of line.matchAll(/\bnpm run\b(.*)/g)) {
            const w = words(m[1]);
            const flagsOfNpm = w.findIndex((x) => !x.startsWith("-"));
            if (flagsOfNpm < 0) continue;
            const script = w[flagsOfNpm];
            const dashes = w.indexOf("--", flagsOfNpm);
            runs.push({ script, args: dashes < 0 ? [] : w.slice(dashes + 1), text: `npm run${m[1]}`.trim() });
        }
    }
    return runs;
}

describe("README", () => {
    const runs = npmRuns(README);

    it("shows npm run commands, and the finder really finds them", () => {
        assert.ok(
            runs.some((r) => r.script === "check" && r.args.includes("--stack")),
            "npm run check -- --stack",
        );
        assert.deepEqual(npmRuns("`npm run -s check -- --stack dev --json | jq .`\n```sh\nnpm run bench:x -- --json # one line\n```\n"), [
            { script: "bench:x", args: ["--json"], text: "npm run bench:x -- --json # one line" },
            { script: "check", args: ["--stack", "dev", "--json"], text: "npm run -s check -- --stack dev --json | jq ." },
        ]);
    });

    it("every npm run <script> it shows is a script of package.json", () => {
        for (const r of runs) assert.ok(r.script in SCRIPTS, `README shows "${r.text}", but package.json has no script ${r.script}`);
    });

    it("the flags it shows are accepted by the script's argument parser", () => {
        let checked = 0;
        for (const r of runs) {
            const parse = PARSERS[r.script];
            if (!parse || r.args.length === 0) continue;
            assert.doesNotThrow(() => parse(r.args), `README shows "${r.text}"`);
            checked++;
        }
        assert.ok(checked > 0);
        assert.throws(() => parseCheckArgs(["--stack", "dev", "--outdir", "x"]), "the parser refuses an unknown flag");
    });

    it("pipes npm run output only with -s, since npm's banner would break --json", () => {
        for (const line of README.split("\n")) {
            for (const m of line.matchAll(/\bnpm run\b([^|`\n]*)\|/g)) {
                assert.match(m[1], /^\s+(-s|--silent)\b/, `"npm run${m[1]}|" pipes npm's banner`);
            }
        }
    });

    it("every file or folder of the repository it links to exists", () => {
        const links = [...README.matchAll(/\]\(([^)#\s]+)[^)]*\)/g)].map((m) => m[1]).filter((l) => !/^[a-z]+:/.test(l));
        assert.ok(links.length > 0);
        for (const link of links) assert.ok(fs.existsSync(path.join(REPO_ROOT, link)), `README links to ${link}`);
    });

    it("every policy config it passes to the policy pack exists", () => {
        const files = new Set([...README.matchAll(/\bpolicy\/config\/([a-z0-9-]+)\.json/g)].map((m) => m[1]));
        assert.ok(files.size > 0);
        for (const f of files) assert.ok(fs.existsSync(path.join(REPO_ROOT, "policy", "config", `${f}.json`)), `policy/config/${f}.json`);
    });
});
