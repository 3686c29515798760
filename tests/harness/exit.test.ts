/**
 * Whatever ends a test or tool run, the processes it started and the temp dirs it made go with it:
 * a signal (Ctrl-C, a CI runner's SIGTERM) as well as a normal exit.
 */
import { strict as assert } from "assert";
import { alive } from "../../harness/loopback/netns";
import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { waitFor } from "../../cli/process";
import { REPO_ROOT } from "../../cli/repoRoot";

/** A node process that starts `sleep` through the harness and prints its pid and its temp dir. */
const CHILD = `
const { launch, makeTempDir } = require(${JSON.stringify(path.join(REPO_ROOT, "cli/process.ts"))});
const dir = makeTempDir("exit-test");
const { process: p } = launch("sleeper", "sleep", ["300"], { env: { PATH: process.env.PATH }, logFile: dir + "/sleep.log" });
console.log(JSON.stringify({ pid: p.pid, dir }));
setInterval(() => undefined, 1000);
`;

describe("harness: clean-up when a run ends", function () {
    for (const signal of ["SIGTERM", "SIGINT"] as const) {
        it(`${signal} to the run stops the processes it started and removes its temp dirs`, async function () {
            this.timeout(30_000);
            const runner = spawn(process.execPath, ["-r", path.join(REPO_ROOT, "cli/check/transpileCache.js"), "-e", CHILD], {
                cwd: REPO_ROOT,
                stdio: ["ignore", "pipe", "inherit"],
            });
            let out = "";
            runner.stdout.on("data", (d) => (out += d));
            const started = await waitFor("the runner to start its child", 20_000, async () =>
                out.includes("\n") ? (JSON.parse(out) as { pid: number; dir: string }) : undefined,
            );
            assert.ok(alive(started.pid) && fs.existsSync(started.dir));
            runner.kill(signal);
            await waitFor("the child to be stopped", 5_000, async () => !alive(started.pid) || undefined);
            assert.ok(!fs.existsSync(started.dir), `${started.dir} is left behind`);
        });
    }
});
