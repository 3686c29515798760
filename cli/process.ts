/**
 * The one supervisor of child processes, for every tool and test: each child starts in its own
 * process group, is tracked by pid, waited for with a deadline (a line it prints, a probe, its exit),
 * stopped with SIGTERM then SIGKILL, and killed (with the temp dirs) when this process exits early.
 * Also free ports on 127.0.0.1 and bounded polling.
 */
import { ChildProcess, StdioOptions, spawn } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { onExit } from "./onExit";

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

/** Thrown by launch when the command is not on PATH (or not executable), before anything starts. */
export class CommandNotFound extends Error {
    constructor(readonly command: string) {
        super(`${command}: command not found on PATH`);
    }
}

/** How much of a piped stream a ManagedProcess keeps (for waitForOutput and error messages). */
const KEPT_OUTPUT = 8000;

export class ManagedProcess {
    readonly pid: number;
    readonly exited: Promise<number | null>;
    private done = false;
    private closed = false;
    private frozen = false;
    private stdoutText = "";
    private stderrText = "";
    private outputText = "";
    private readonly outputListeners = new Set<() => void>();

    constructor(
        readonly name: string,
        child: ChildProcess,
        private readonly logFile?: string,
        /** How much of each piped stream to keep (Infinity: all of it). */
        private readonly keptOutput = KEPT_OUTPUT,
    ) {
        if (child.pid === undefined) throw new Error(`${name}: failed to start`);
        installExitHook();
        this.pid = child.pid;
        livePids.add(this.pid);
        // Piped streams are always drained, so that a chatty child never blocks on a full pipe.
        child.stdout?.on("data", (d: Buffer) => this.record(d.toString(), true));
        child.stderr?.on("data", (d: Buffer) => this.record(d.toString(), false));
        this.exited = new Promise((resolve) => {
            child.once("exit", (code, signal) => {
                this.done = true;
                livePids.delete(this.pid);
                resolve(code ?? (signal ? -1 : null));
            });
        });
        // Output may still arrive after "exit"; "close" says every piped stream has ended.
        child.once("close", () => {
            this.closed = true;
            this.notify();
        });
    }

    get running(): boolean {
        return !this.done;
    }

    /** The last lines the child printed: its piped output, else its log file. */
    recentOutput(lines = 5): string {
        const text = this.outputText || (this.logFile ? tailFile(this.logFile, lines) : "");
        return text.trim().split("\n").slice(-lines).join("\n");
    }

    /**
     * Waits up to timeoutMs for `pattern` in what the child printed on a piped stdout; rejects
     * (WaitAborted) at once when the child exits first, with its name and its last lines.
     * `expected` names what was awaited in the message of a timeout.
     */
    async waitForOutput(pattern: RegExp, timeoutMs: number, expected = String(pattern)): Promise<RegExpExecArray> {
        let timer: NodeJS.Timeout | undefined;
        let listener: (() => void) | undefined;
        try {
            return await new Promise<RegExpExecArray>((resolve, reject) => {
                const fail = (reason: string): void => {
                    const tail = this.recentOutput(3)
                        .split("\n")
                        .filter((l) => l.trim() !== "");
                    reject(new WaitAborted(`${this.name} ${reason}${tail.length ? `: ${tail.map((l) => l.trim()).join(" / ")}` : ""}`));
                };
                listener = () => {
                    const m = pattern.exec(this.stdoutText);
                    if (m) resolve(m);
                    else if (this.closed) fail("exited");
                };
                this.outputListeners.add(listener);
                timer = setTimeout(() => fail(`printed no ${expected} within ${timeoutMs / 1000} s`), timeoutMs);
                listener();
            });
        } finally {
            clearTimeout(timer);
            if (listener) this.outputListeners.delete(listener);
        }
    }

    /** What the child printed on a piped stdout / stderr (the last keptOutput characters of each). */
    get stdout(): string {
        return this.stdoutText;
    }

    get stderr(): string {
        return this.stderrText;
    }

    private record(text: string, stdout: boolean): void {
        const keep = (all: string): string => (all.length > this.keptOutput ? all.slice(-this.keptOutput) : all);
        if (stdout) this.stdoutText = keep(this.stdoutText + text);
        else this.stderrText = keep(this.stderrText + text);
        this.outputText = keep(this.outputText + text);
        this.notify();
    }

    private notify(): void {
        for (const listener of [...this.outputListeners]) listener();
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
    /** The child's whole environment (default: this process's). */
    readonly env?: NodeJS.ProcessEnv;
    readonly cwd?: string;
    /** stderr, and stdout unless pipeStdout, are appended here; without one both are piped and kept. */
    readonly logFile?: string;
    /** Pipe stdout even with a logFile (for waitForOutput). */
    readonly pipeStdout?: boolean;
    /** Extra stdio entries after 0-2 (e.g. "pipe" for an info fd 3). */
    readonly extraStdio?: readonly ("pipe" | "ignore")[];
    /** Written to the child's stdin, which is then closed (default: no stdin). */
    readonly input?: string | Buffer;
    /** How much of each piped stream the ManagedProcess keeps (default 8000 characters). */
    readonly keptOutput?: number;
}

/** Whether `cmd` (a path, or a name looked up on `searchPath`) is an executable file. */
export function isExecutable(cmd: string, searchPath: string): boolean {
    const candidates = cmd.includes("/")
        ? [cmd]
        : searchPath
              .split(path.delimiter)
              .filter((d) => d !== "")
              .map((d) => path.join(d, cmd));
    return candidates.some((file) => {
        try {
            fs.accessSync(file, fs.constants.X_OK);
            return fs.statSync(file).isFile();
        } catch {
            return false;
        }
    });
}

/** Spawns `cmd` as the leader of a new process group; throws CommandNotFound when it is not on PATH. */
export function launch(
    name: string,
    cmd: string,
    args: readonly string[],
    opts: LaunchOptions = {},
): { process: ManagedProcess; child: ChildProcess } {
    const env = opts.env ?? process.env;
    // spawn's own lookup: the child's PATH, else /usr/bin:/bin.
    const file = cmd.includes("/") ? path.resolve(opts.cwd ?? process.cwd(), cmd) : cmd;
    if (!isExecutable(file, env.PATH ?? "/usr/bin:/bin")) throw new CommandNotFound(cmd);
    const fd = opts.logFile === undefined ? undefined : fs.openSync(opts.logFile, "a");
    try {
        const stdout = fd === undefined || opts.pipeStdout ? "pipe" : fd;
        const stdin = opts.input === undefined ? "ignore" : "pipe";
        const stdio: StdioOptions = [stdin, stdout, fd ?? "pipe", ...(opts.extraStdio ?? [])];
        const child = spawn(cmd, [...args], { env, cwd: opts.cwd, stdio, detached: true });
        const managed = new ManagedProcess(name, child, opts.logFile, opts.keptOutput);
        if (opts.input !== undefined) {
            // A child that exits without reading its input is not an error of ours (EPIPE).
            child.stdin!.on("error", () => undefined);
            child.stdin!.end(opts.input);
        }
        return { process: managed, child };
    } finally {
        if (fd !== undefined) fs.closeSync(fd);
    }
}

export interface RunResult {
    /** The exit code; -1 when a signal ended it. */
    readonly code: number | null;
    readonly stdout: string;
    readonly stderr: string;
    /** Whether it was stopped for running past its deadline. */
    readonly timedOut: boolean;
}

/**
 * Runs a command to its end with all of its output. Past timeoutMs its process group gets SIGTERM,
 * then SIGKILL after graceMs; whatever of the group outlives the command (a forked helper) is killed.
 */
export async function runToEnd(
    name: string,
    cmd: string,
    args: readonly string[],
    opts: Omit<LaunchOptions, "logFile" | "pipeStdout" | "keptOutput"> & {
        readonly timeoutMs: number;
        readonly graceMs?: number;
        /** Stops the command early (SIGTERM, then SIGKILL after graceMs). */
        readonly signal?: AbortSignal;
    },
): Promise<RunResult> {
    const { process: proc, child } = launch(name, cmd, args, { ...opts, keptOutput: Infinity });
    const closed = new Promise<void>((resolve) => child.once("close", () => resolve()));
    const abort = (): void => void proc.stop(opts.graceMs ?? 5000);
    opts.signal?.addEventListener("abort", abort, { once: true });
    const timedOut = !(await proc.waitExit(opts.timeoutMs));
    opts.signal?.removeEventListener("abort", abort);
    if (timedOut) await proc.stop(opts.graceMs ?? 5000);
    // A helper of the group still holding the pipes open would keep "close" from ever coming.
    let timer: NodeJS.Timeout | undefined;
    const helpersGone = new Promise<void>((resolve) => (timer = setTimeout(resolve, 1000)));
    await Promise.race([closed, helpersGone]);
    clearTimeout(timer);
    try {
        process.kill(-proc.pid, "SIGKILL"); // the group only: the pid itself may be another process's by now
    } catch {
        // no one is left
    }
    await closed;
    return { code: await proc.exited, stdout: proc.stdout, stderr: proc.stderr, timedOut };
}

/** The last lines of a log file (debugging aid for failing tests). */
export function tailFile(file: string, lines = 30): string {
    try {
        return fs.readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
    } catch {
        return "(no log)";
    }
}
