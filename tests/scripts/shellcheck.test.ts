/**
 * Every shell script of the repository passes shellcheck. The Redis scripts run under busybox
 * ash (redis:7.2.5-alpine) and dash, so they are checked as POSIX sh whatever they declare;
 * the tools' bash scripts in their declared dialect. The generated settings.env is checked too.
 */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
    buildRedisHaLayout,
    kubernetesNodeAddresses,
    renderRedisHaFiles,
    renderStandaloneRedisFiles,
    standaloneRedisLayout,
} from "../../components/redis/haConfig";
import { SCRIPTS_DIR } from "../../components/redis/scripts";

const repoRoot = path.resolve(__dirname, "..", "..");
const SKIP_DIRS = new Set(["node_modules", ".git", "bin"]);

function shellFiles(dir: string): string[] {
    return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
        if (e.isDirectory()) return SKIP_DIRS.has(e.name) ? [] : shellFiles(path.join(dir, e.name));
        return e.name.endsWith(".sh") ? [path.relative(repoRoot, path.join(dir, e.name))] : [];
    });
}

/** Files that must run under POSIX sh: everything in the pods, and whatever says so itself. */
function isPosix(file: string): boolean {
    if (file.startsWith(`components${path.sep}`)) return true;
    const head = fs.readFileSync(path.join(repoRoot, file), "utf8").split("\n", 3).join("\n");
    return /^#!\/bin\/sh\b|^# shellcheck shell=sh\b/m.test(head);
}

function shellcheck(args: string[], cwd = repoRoot): string {
    const r = spawnSync("shellcheck", args, { cwd, encoding: "utf8", timeout: 60000 });
    assert.equal(r.error, undefined, `shellcheck did not run (Debian package shellcheck): ${String(r.error)}`);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    return r.stdout;
}

describe("shell scripts under shellcheck", function () {
    this.timeout(120000);
    const files = shellFiles(repoRoot);
    const posix = files.filter(isPosix);
    const other = files.filter((f) => !isPosix(f));

    it("finds the Redis scripts and the tools' scripts", () => {
        const redis = fs
            .readdirSync(SCRIPTS_DIR)
            .filter((f) => f.endsWith(".sh"))
            .map((f) => path.relative(repoRoot, path.join(SCRIPTS_DIR, f)));
        assert.ok(redis.length >= 6, redis.join(" "));
        for (const f of redis) assert.ok(posix.includes(f), `${f} is not checked as POSIX sh`);
        assert.ok(
            other.some((f) => f.startsWith(path.join("tools", "e2e"))),
            "tools/e2e scripts not found",
        );
    });

    it("POSIX scripts are clean with -s sh", () => {
        shellcheck(["-s", "sh", "-x", ...posix]);
    });

    it("the other scripts are clean in their declared dialect", () => {
        shellcheck(["-x", ...other]);
    });

    it("the generated settings.env of both shapes is clean with -s sh", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "shellcheck-settings-"));
        try {
            const nodes = kubernetesNodeAddresses({
                statefulSetName: "redis-node",
                headlessServiceName: "redis-node",
                namespace: "a8",
                replicas: 3,
            });
            const rendered = {
                ha: renderRedisHaFiles(buildRedisHaLayout({ nodes }))["settings.env"],
                standalone: renderStandaloneRedisFiles(standaloneRedisLayout({ host: "redis.a8.svc.cluster.local" }))["settings.env"],
            };
            for (const [shape, text] of Object.entries(rendered)) fs.writeFileSync(path.join(dir, `${shape}.env`), text);
            // SC2034: the variables are read by the scripts that source the file.
            shellcheck(["-s", "sh", "-e", "SC2034", "ha.env", "standalone.env"], dir);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
