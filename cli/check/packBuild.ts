/**
 * The policy pack ships compiled: `policy/bin/` holds the tsc output that `policy/package.json`
 * `main` points at, so neither `check` nor `pulumi preview --policy-pack policy` type-checks it at
 * start. `npm ci` builds it (root `prepare`); `check` rebuilds it once when the sources changed,
 * recognised by a hash of the sources stored next to the output.
 */
import { spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

export const POLICY_DIR = path.resolve(__dirname, "..", "..", "policy");
/** tsc's outDir in policy/tsconfig.json, which policy/package.json `main` points into. */
const OUT = "bin";
const HASH_FILE = ".sources.sha256";
const TSC = require.resolve("typescript/bin/tsc");
/** A build takes seconds; a busy machine may take minutes. */
const LOCK_WAIT_MS = 300_000;

function sourceFiles(dir: string): string[] {
    const out: string[] = [];
    for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
        const full = path.join(dir, e.name);
        if (e.isDirectory() && e.name !== OUT && e.name !== "node_modules") out.push(...sourceFiles(full));
        else if (e.isFile() && (e.name.endsWith(".ts") || e.name === "tsconfig.json" || e.name === "package.json")) out.push(full);
    }
    return out;
}

/** Hash of every file the build reads from the pack folder (names and contents). */
export function sourceHash(dir = POLICY_DIR): string {
    const h = crypto.createHash("sha256");
    for (const f of sourceFiles(dir)) {
        h.update(path.relative(dir, f)).update("\0").update(fs.readFileSync(f)).update("\0");
    }
    return h.digest("hex");
}

/** The source hash the output in `<dir>/bin` was built from, if any. */
function builtHash(dir = POLICY_DIR): string | undefined {
    try {
        return fs.readFileSync(path.join(dir, OUT, HASH_FILE), "utf8").trim();
    } catch {
        return undefined;
    }
}

export function isPackBuildCurrent(dir = POLICY_DIR): boolean {
    return builtHash(dir) === sourceHash(dir);
}

function build(dir: string, hash: string): void {
    fs.rmSync(path.join(dir, OUT), { recursive: true, force: true });
    const r = spawnSync(process.execPath, [TSC, "-p", path.join(dir, "tsconfig.json")], { encoding: "utf8", timeout: LOCK_WAIT_MS });
    if (r.status !== 0) {
        const why = r.error ? r.error.message : `${r.stdout}${r.stderr}`.trim().split("\n").slice(0, 20).join("\n");
        throw new Error(`compiling the policy pack failed:\n${why}`);
    }
    // Sources edited while tsc ran: leave the output unrecorded, so the next start builds again.
    if (sourceHash(dir) === hash) fs.writeFileSync(path.join(dir, OUT, HASH_FILE), hash + "\n");
}

function lockPath(dir: string): string {
    const id = crypto.createHash("sha256").update(path.resolve(dir)).digest("hex").slice(0, 16);
    return path.join(os.tmpdir(), `a8-policy-build-${id}.lock`);
}

function holderAlive(lock: string): boolean {
    try {
        const pid = Number(fs.readFileSync(path.join(lock, "pid"), "utf8"));
        if (!Number.isInteger(pid) || pid <= 0) return false;
        process.kill(pid, 0);
        return true;
    } catch (e) {
        return (e as NodeJS.ErrnoException).code === "EPERM";
    }
}

/**
 * Compiles the pack when `policy/bin` is missing or older than the sources. Concurrent callers
 * (several checks at once) build it once: one holds a lock directory, the others wait for it.
 * Returns true when this call compiled it.
 */
export function ensurePackBuilt(log: (line: string) => void = () => undefined, dir = POLICY_DIR): boolean {
    const hash = sourceHash(dir);
    if (builtHash(dir) === hash) {
        return false;
    }
    const lock = lockPath(dir);
    const deadline = Date.now() + LOCK_WAIT_MS;
    for (;;) {
        try {
            fs.mkdirSync(lock);
            fs.writeFileSync(path.join(lock, "pid"), String(process.pid));
            break;
        } catch (e) {
            if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
        }
        if (!holderAlive(lock)) {
            // Left behind by a process that died while building; the pid file may not exist yet
            // for a holder that just took it, so give it a moment first.
            Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
            if (!holderAlive(lock)) fs.rmSync(lock, { recursive: true, force: true });
            continue;
        }
        if (Date.now() > deadline) {
            throw new Error(`the policy pack is being compiled by another process (lock ${lock}) for more than ${LOCK_WAIT_MS / 1000} s`);
        }
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 250);
    }
    try {
        if (builtHash(dir) === hash) {
            return false; // another process built it while this one waited
        }
        log(`policy pack sources changed: compiling ${path.relative(process.cwd(), dir) || "."} (once)`);
        build(dir, hash);
        return true;
    } finally {
        fs.rmSync(lock, { recursive: true, force: true });
    }
}

if (require.main === module) {
    try {
        ensurePackBuilt((l) => process.stderr.write(l + "\n"));
    } catch (e) {
        process.stderr.write(`${(e as Error).message}\n`);
        process.exit(1);
    }
}
