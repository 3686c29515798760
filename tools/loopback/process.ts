/**
 * Process utilities shared by the loopback harnesses (Redis HA cluster, Amalgam8 services): free
 * ports on 127.0.0.1, bounded waits, and child processes started in their own process group,
 * tracked by pid and killed (with their temp dirs removed) even when the test process exits early.
 */
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { onExit } from "../onExit";

/** A TCP address (a host and a port). */
export interface Endpoint {
    readonly host: string;
    readonly port: number;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Thrown by a waitFor probe when waiting longer cannot help (e.g. the process exited). */
export class WaitAborted extends Error {}

/** Polls `probe` until it returns a value other than undefined/false, or throws after timeoutMs. */
export async function waitFor<T>(
    what: string,
    timeoutMs: number,
    probe: () => Promise<T | undefined | false>,
    intervalMs = 100,
): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let lastError: unknown;
    for (;;) {
        try {
            const v = await probe();
            if (v !== undefined && v !== false) return v;
        } catch (e) {
            if (e instanceof WaitAborted) throw e;
            lastError = e;
        }
        if (Date.now() >= deadline) {
            const why = lastError instanceof Error ? ` (last error: ${lastError.message})` : "";
            throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why}`);
        }
        await sleep(intervalMs);
    }
}

/** Distinct free ports on 127.0.0.1 (all listeners held open together so none repeats). */
export async function freePorts(count: number): Promise<number[]> {
    const servers: net.Server[] = [];
    try {
        const ports: number[] = [];
        for (let i = 0; i < count; i++) {
            const srv = net.createServer();
            servers.push(srv);
            await new Promise<void>((resolve, reject) => {
                srv.once("error", reject);
                srv.listen(0, "127.0.0.1", () => resolve());
            });
            ports.push((srv.address() as net.AddressInfo).port);
        }
        return ports;
    } finally {
        await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    }
}

// ---------------------------------------------------------------------------------------------
// Processes and temp dirs

/** Process groups still alive and temp dirs still present, cleaned up if the process exits early. */
const livePids = new Set<number>();
const liveDirs = new Set<string>();
let exitHookInstalled = false;

function installExitHook(): void {
    if (exitHookInstalled) return;
    exitHookInstalled = true;
    onExit(() => {
        for (const pid of livePids) {
            signalGroup(pid, "SIGCONT");
            signalGroup(pid, "SIGKILL");
        }
        for (const dir of liveDirs) fs.rmSync(dir, { recursive: true, force: true });
    });
}

/** A fresh directory under os.tmpdir(), removed by removeTempDir or when the process exits. */
export function makeTempDir(prefix: string, keep = false): string {
    installExitHook();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-`));
    if (!keep) liveDirs.add(dir);
    return dir;
}

export function removeTempDir(dir: string): void {
    fs.rmSync(dir, { recursive: true, force: true });
    liveDirs.delete(dir);
}

function signalGroup(pid: number, signal: NodeJS.Signals): boolean {
    try {
        // Each child heads its own process group, which also holds what its script forked.
        process.kill(-pid, signal);
        return true;
    } catch {
        try {
            process.kill(pid, signal);
            return true;
        } catch {
            return false;
        }
    }
}

export class ManagedProcess {
    readonly pid: number;
    readonly exited: Promise<number | null>;
    private done = false;
    private frozen = false;

    constructor(
        readonly name: string,
        child: ChildProcess,
    ) {
        if (child.pid === undefined) throw new Error(`${name}: failed to start`);
        installExitHook();
        this.pid = child.pid;
        livePids.add(this.pid);
        this.exited = new Promise((resolve) => {
            child.once("exit", (code, signal) => {
                this.done = true;
                livePids.delete(this.pid);
                resolve(code ?? (signal ? -1 : null));
            });
        });
    }

    get running(): boolean {
        return !this.done;
    }

    signal(sig: NodeJS.Signals): void {
        if (this.done) return;
        if (sig === "SIGSTOP") this.frozen = true;
        if (sig === "SIGCONT") this.frozen = false;
        signalGroup(this.pid, sig);
    }

    /** Waits up to timeoutMs for the exit; true when it exited. */
    async waitExit(timeoutMs: number): Promise<boolean> {
        if (this.done) return true;
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
        const r = await Promise.race([this.exited.then(() => true as const), timeout]);
        if (timer) clearTimeout(timer);
        return r;
    }

    /** SIGTERM (SIGCONT first if frozen), then SIGKILL after graceMs. */
    async stop(graceMs = 5000): Promise<void> {
        if (this.done) return;
        this.signal("SIGTERM");
        if (this.frozen) this.signal("SIGCONT");
        if (await this.waitExit(graceMs)) return;
        this.signal("SIGKILL");
        if (!(await this.waitExit(5000))) throw new Error(`${this.name} (pid ${this.pid}) did not exit after SIGKILL`);
    }
}

export interface LaunchOptions {
    readonly env: NodeJS.ProcessEnv;
    /** stdout and stderr are appended here. */
    readonly logFile: string;
    /** Extra stdio entries after 0-2 (e.g. "pipe" for an info fd 3). */
    readonly extraStdio?: readonly ("pipe" | "ignore")[];
}

/**
 * The `sh` of the Redis image (redis:*-alpine) is busybox ash: the generated scripts run under it
 * here too, so that what dash or bash would forgive fails a test before it fails a pod.
 */
export function podShell(script: string, ...args: string[]): [cmd: string, args: string[]] {
    return ["busybox", ["sh", script, ...args]];
}

/** Spawns `cmd` as the leader of a new process group, output appended to a log file. */
export function launch(
    name: string,
    cmd: string,
    args: readonly string[],
    opts: LaunchOptions,
): { process: ManagedProcess; child: ChildProcess } {
    const fd = fs.openSync(opts.logFile, "a");
    try {
        const child = spawn(cmd, [...args], { env: opts.env, stdio: ["ignore", fd, fd, ...(opts.extraStdio ?? [])], detached: true });
        return { process: new ManagedProcess(name, child), child };
    } finally {
        fs.closeSync(fd);
    }
}

/** The last lines of a log file (debugging aid for failing tests). */
export function tailFile(file: string, lines = 30): string {
    try {
        return fs.readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
    } catch {
        return "(no log)";
    }
}
