/**
 * The one supervisor of child processes (cli/process.ts): what every tool and test relies on when
 * it starts a server, waits for it and stops it.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import { alive } from "../../harness/loopback/netns";
import { CommandNotFound, WaitAborted, launch, runToEnd, waitFor } from "../../cli/process";

/** Gone: no such process, or only its zombie, which waits for whoever adopted it to reap it. */
function gone(pid: number): boolean {
    if (!alive(pid)) return true;
    try {
        return / Z /.test(fs.readFileSync(`/proc/${pid}/stat`, "utf8").replace(/^.*\)/, ""));
    } catch {
        return true;
    }
}

describe("harness: the supervisor of child processes", function () {
    this.timeout(30_000);

    it("waits for a line the child prints, and gives up at once, naming it and its last words, when it exits first", async () => {
        const { process: ready } = launch("greeter", "sh", ["-c", "echo starting; sleep 0.2; echo 'listening on 4242'; sleep 30"]);
        const [, port] = await ready.waitForOutput(/listening on (\d+)/, 10_000);
        assert.equal(port, "4242");
        await ready.stop();
        assert.ok(!ready.running);

        const { process: failing } = launch("failer", "sh", ["-c", "echo 'bind: address in use' >&2; exit 1"]);
        const started = Date.now();
        await assert.rejects(failing.waitForOutput(/listening/, 20_000), (e: Error) => {
            assert.ok(e instanceof WaitAborted);
            assert.equal(e.message, "failer exited: bind: address in use");
            return true;
        });
        assert.ok(Date.now() - started < 5_000, "it did not wait for the deadline");

        const { process: silent } = launch("silent", "sleep", ["30"]);
        await assert.rejects(silent.waitForOutput(/\d+/, 300, "port"), /silent printed no port within 0\.3 s$/);
        await silent.stop();
    });

    it("refuses a command that is not on PATH before anything starts", () => {
        assert.throws(
            () => launch("missing", "no-such-command-a8", []),
            (e: Error) => e instanceof CommandNotFound && /no-such-command-a8: command not found on PATH/.test(e.message),
        );
    });

    it("runs a command to its end with its input and all of its output", async () => {
        const r = await runToEnd("cat", "sh", ["-c", "cat; head -c 20000 /dev/zero | tr '\\0' x; echo done >&2"], {
            input: "hello\n",
            timeoutMs: 10_000,
        });
        assert.equal(r.code, 0);
        assert.equal(r.timedOut, false);
        assert.ok(r.stdout.startsWith("hello\nxxx"), r.stdout.slice(0, 20));
        assert.equal(r.stdout.length, "hello\n".length + 20_000, "the whole output, not its tail");
        assert.equal(r.stderr, "done\n");
    });

    it("stops a command past its deadline with every process of its group, SIGKILL for one that ignores SIGTERM", async () => {
        const started = Date.now();
        const r = await runToEnd("stuck", "sh", ["-c", "(trap '' TERM; sleep 60) & echo $!; wait"], { timeoutMs: 500, graceMs: 500 });
        assert.equal(r.timedOut, true);
        assert.ok(Date.now() - started < 5_000, `took ${Date.now() - started} ms`);
        const helper = Number(r.stdout.trim());
        assert.ok(helper > 0, r.stdout);
        await waitFor("the helper to be gone", 3_000, async () => gone(helper) || undefined);
    });

    it("leaves nothing of the group behind a command that ends on time", async () => {
        const r = await runToEnd("forker", "sh", ["-c", "(trap '' TERM; sleep 60) >/dev/null 2>&1 & echo $!"], { timeoutMs: 10_000 });
        assert.equal(r.timedOut, false);
        assert.equal(r.code, 0);
        const helper = Number(r.stdout.trim());
        assert.ok(helper > 0, r.stdout);
        await waitFor("the helper to be gone", 3_000, async () => gone(helper) || undefined);
    });
});
