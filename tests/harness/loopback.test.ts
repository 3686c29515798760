/**
 * The loopback infrastructure's own contract: one message naming every missing prerequisite, and
 * the Amalgam8 build step's incremental rebuild and its messages for bad input.
 */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { REPO_ROOT } from "../../cli/repoRoot";
import { makeTempDir, removeTempDir } from "../../cli/process";
import { PREREQUISITES, Prerequisite, missingPrerequisitesMessage } from "../../harness/loopback/prerequisites";

const BUILD = path.join(REPO_ROOT, "tools", "amalgam8", "build.sh");

function build(...args: string[]): { status: number | null; out: string } {
    const r = spawnSync("bash", [BUILD, ...args], { cwd: REPO_ROOT, encoding: "utf8", timeout: 120000 });
    return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

describe("harness: loopback prerequisites and the Amalgam8 build step", function () {
    it("names every missing prerequisite and what provides it, in one message", () => {
        const absent = (p: Prerequisite): Prerequisite => ({ ...p, present: () => false });
        const msg = missingPrerequisitesMessage(
            [
                absent(PREREQUISITES.bwrap),
                absent(PREREQUISITES.redisCli),
                PREREQUISITES.redisServer,
                absent(PREREQUISITES.controllerUpstream),
            ],
            "The test",
        );
        assert.ok(msg);
        assert.match(msg, /bwrap: Debian package bubblewrap/);
        assert.match(msg, /redis-cli: Debian package redis-tools/);
        assert.match(msg, /a8controller \(upstream build\): npm run build:amalgam8/);
        assert.match(msg, /apt-get install -y bubblewrap redis-tools/);
        assert.doesNotMatch(msg, /redis-server/);
        assert.equal(missingPrerequisitesMessage([PREREQUISITES.redisServer], "The test"), undefined);
    });

    it("does not rebuild when the source and patches are unchanged", function () {
        this.timeout(120000);
        // The CI entry point built both variants before the tests run.
        const r = build();
        assert.equal(r.status, 0, r.out);
        assert.match(r.out, /amalgam8 upstream: up to date/);
    });

    it(
        "rejects a source that does not exist, a source that is not Amalgam8, and an empty patch series, " + "each with one clear message",
        function () {
            this.timeout(30000);
            const dir = makeTempDir("a8-build-input");
            try {
                const missing = build(path.join(dir, "nope.tar.gz"));
                assert.equal(missing.status, 2);
                assert.match(missing.out, /^error: source '.*nope\.tar\.gz' does not exist \(a \.tar\.gz or a directory\)$/m);
                const notA8 = build(dir);
                assert.equal(notA8.status, 2);
                assert.match(
                    notA8.out,
                    /holds neither src\/github\.com\/amalgam8\/amalgam8\/cmd\/controller \(a GOPATH\) nor cmd\/controller/,
                );
                fs.mkdirSync(path.join(dir, "patches"));
                const noPatches = build("--patches", path.join(dir, "patches"));
                assert.equal(noPatches.status, 2);
                assert.match(noPatches.out, /--patches '.*patches' holds no \*\.patch file/);
                for (const r of [missing, notA8, noPatches]) assert.doesNotMatch(r.out, /\n\s+at |line \d+:/);
            } finally {
                removeTempDir(dir);
            }
        },
    );
});
