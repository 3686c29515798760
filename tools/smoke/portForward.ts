/**
 * `kubectl port-forward` to a Service, on 127.0.0.1 and a port kubectl picks. Each forward runs in
 * its own process group, is stopped by its pid, and every one still running is stopped when this
 * process exits.
 */
import { ChildProcess, spawn } from "child_process";
import { ForwardedService, ToolError } from "./stack";
import { onExit } from "../onExit";

const FORWARDING = /Forwarding from 127\.0\.0\.1:(\d+) ->/;
const running = new Set<PortForward>();
let exitHookInstalled = false;

function installExitHook(): void {
    if (exitHookInstalled) return;
    exitHookInstalled = true;
    onExit(() => {
        for (const f of running) f.kill("SIGKILL");
    });
}

export class PortForward {
    private exited = false;
    private readonly exit: Promise<void>;
    private output = "";

    private constructor(
        readonly target: ForwardedService,
        private readonly child: ChildProcess,
        readonly localPort: number,
        exit: Promise<void>,
    ) {
        this.exit = exit;
        void this.exit.then(() => (this.exited = true));
    }

    get url(): string {
        return `http://127.0.0.1:${this.localPort}`;
    }

    /** False once kubectl exited (it does when the pod behind the forward goes away). */
    get alive(): boolean {
        return !this.exited;
    }

    get label(): string {
        return `service/${this.target.service} -n ${this.target.namespace}`;
    }

    /** Starts kubectl and waits up to timeoutMs for its "Forwarding from 127.0.0.1:<port>" line. */
    static async start(target: ForwardedService, timeoutMs = 30_000): Promise<PortForward> {
        installExitHook();
        const args = [
            "port-forward",
            "--namespace",
            target.namespace,
            `service/${target.service}`,
            `:${target.port}`,
            "--address",
            "127.0.0.1",
        ];
        const child = spawn("kubectl", args, { stdio: ["ignore", "pipe", "pipe"], detached: true });
        let output = "";
        const exit = new Promise<void>((resolve) => child.once("close", () => resolve()));
        const label = `kubectl port-forward service/${target.service} -n ${target.namespace}`;
        const port = await new Promise<number>((resolve, reject) => {
            const timer = setTimeout(() => {
                reject(new ToolError(`${label} did not start forwarding within ${timeoutMs / 1000} s${tail(output)}`));
            }, timeoutMs);
            const onData = (d: Buffer): void => {
                output += d.toString();
                const m = FORWARDING.exec(output);
                if (m) {
                    clearTimeout(timer);
                    resolve(Number(m[1]));
                }
            };
            child.stdout!.on("data", onData);
            child.stderr!.on("data", onData);
            child.once("error", (e: NodeJS.ErrnoException) => {
                clearTimeout(timer);
                reject(
                    new ToolError(
                        e.code === "ENOENT"
                            ? "kubectl not found on PATH: install kubectl and select the cluster's context"
                            : `${label}: ${e.message}`,
                    ),
                );
            });
            void exit.then(() => {
                clearTimeout(timer);
                reject(new ToolError(`${label} exited${tail(output)}`));
            });
        }).catch(async (e: unknown) => {
            signalGroup(child, "SIGKILL");
            await within(exit, 3000);
            throw e;
        });
        const forward = new PortForward(target, child, port, exit);
        forward.output = output;
        // Keep draining kubectl's output so it never blocks on a full pipe.
        child.stdout!.on("data", (d: Buffer) => forward.remember(d));
        child.stderr!.on("data", (d: Buffer) => forward.remember(d));
        running.add(forward);
        void exit.then(() => running.delete(forward));
        return forward;
    }

    private remember(d: Buffer): void {
        this.output = (this.output + d.toString()).slice(-2000);
    }

    /** What kubectl printed last (its errors say why a forward broke). */
    get lastOutput(): string {
        return tail(this.output);
    }

    kill(signal: NodeJS.Signals): void {
        if (!this.exited) signalGroup(this.child, signal);
    }

    /** SIGTERM, then SIGKILL after 3 s; resolves once kubectl is gone (at most ~6 s). */
    async stop(): Promise<void> {
        if (this.exited) return;
        this.kill("SIGTERM");
        if (await within(this.exit, 3000)) return;
        this.kill("SIGKILL");
        await within(this.exit, 3000);
    }
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
    if (child.pid === undefined) return;
    try {
        process.kill(-child.pid, signal);
    } catch {
        try {
            child.kill(signal);
        } catch {
            // already gone
        }
    }
}

async function within(p: Promise<void>, ms: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
    const r = await Promise.race([p.then(() => true as const), timeout]);
    clearTimeout(timer);
    return r;
}

function tail(output: string): string {
    const lines = output
        .split("\n")
        .map((l) => l.trim())
        .filter((l) => l !== "");
    return lines.length === 0 ? "" : `: ${lines.slice(-3).join(" / ")}`;
}
