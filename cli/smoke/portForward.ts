/**
 * `kubectl port-forward` to a Service, on 127.0.0.1 and a port kubectl picks, run by the one
 * supervisor (its own process group, stopped by its pid, stopped too when this process exits).
 */
import { ForwardedService, ToolError } from "./stack";
import { CommandNotFound, ManagedProcess, launch } from "../process";

const FORWARDING = /Forwarding from 127\.0\.0\.1:(\d+) ->/;

export class PortForward {
    private constructor(
        private readonly kubectl: ManagedProcess,
        readonly localPort: number,
    ) {}

    get url(): string {
        return `http://127.0.0.1:${this.localPort}`;
    }

    /** False once kubectl exited (it does when the pod behind the forward goes away). */
    get alive(): boolean {
        return this.kubectl.running;
    }

    /** Starts kubectl and waits up to timeoutMs for its "Forwarding from 127.0.0.1:<port>" line. */
    static async start(target: ForwardedService, timeoutMs = 30_000): Promise<PortForward> {
        const service = `service/${target.service}`;
        const label = `kubectl port-forward ${service} -n ${target.namespace}`;
        let kubectl: ManagedProcess;
        try {
            kubectl = launch(label, "kubectl", [
                "port-forward",
                "--namespace",
                target.namespace,
                service,
                `:${target.port}`,
                "--address",
                "127.0.0.1",
            ]).process;
        } catch (e) {
            if (e instanceof CommandNotFound)
                throw new ToolError("kubectl not found on PATH: install kubectl and select the cluster's context");
            throw e;
        }
        try {
            const [, port] = await kubectl.waitForOutput(FORWARDING, timeoutMs, "forwarding address");
            return new PortForward(kubectl, Number(port));
        } catch (e) {
            await kubectl.stop(0);
            throw new ToolError((e as Error).message);
        }
    }

    /** SIGTERM, then SIGKILL after 3 s; resolves once kubectl is gone. */
    async stop(): Promise<void> {
        await this.kubectl.stop(3000);
    }
}
