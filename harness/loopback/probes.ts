/**
 * One attempt of a rendered probe, made as the kubelet makes it: an HTTP GET through the port the
 * pod's container port is reachable on, or a TCP connect from inside the pod's network namespace.
 */
import { runToEnd } from "../../cli/process";
import type { IContainer } from "kubernetes-models/v1/Container";
import type { IProbe } from "kubernetes-models/v1/Probe";
import { ProbeKind, probeOf, probePort } from "./kubelet";

export interface ProbeResult {
    readonly ok: boolean;
    readonly detail: string;
}

/**
 * One attempt of the container's `kind` probe (path, port, headers, timeout); a container without
 * one counts as passing. `hostPortFor` maps a container port to the 127.0.0.1 port reaching it;
 * `podPid` is a process in the pod's network namespace.
 */
export async function probeOnce(
    container: IContainer,
    kind: ProbeKind,
    hostPortFor: (containerPort: number) => number,
    podPid: number,
): Promise<ProbeResult> {
    const p = probeOf(container, kind);
    if (!p) {
        return { ok: true, detail: `no ${kind} probe (the kubelet counts the container as ${kind === "readiness" ? "Ready" : "live"})` };
    }
    const port = hostPortFor(probePort(container, p, kind));
    if (p.httpGet) {
        if ((p.httpGet.scheme ?? "HTTP") !== "HTTP") {
            return { ok: false, detail: `${kind} probe uses ${p.httpGet.scheme}: the service serves plain HTTP only` };
        }
        const headers = Object.fromEntries((p.httpGet.httpHeaders ?? []).map((h) => [h.name, h.value]));
        return httpProbe(`http://127.0.0.1:${port}${p.httpGet.path ?? "/"}`, headers, probeTimeoutMs(p));
    }
    return tcpProbeInPod(podPid, probePort(container, p, kind), probeTimeoutMs(p));
}

const probeTimeoutMs = (probe: IProbe): number => (probe.timeoutSeconds ?? 1) * 1000;

async function httpProbe(url: string, headers: Record<string, string>, timeoutMs: number): Promise<ProbeResult> {
    try {
        const res = await fetch(url, { headers, redirect: "manual", signal: AbortSignal.timeout(timeoutMs) });
        await res.arrayBuffer();
        // The kubelet counts 200-399 as success.
        return { ok: res.status >= 200 && res.status < 400, detail: `GET ${new URL(url).pathname} -> ${res.status}` };
    } catch (e) {
        // fetch wraps the network error (ECONNREFUSED, ...) as its cause.
        const cause = (e as Error).cause;
        const reason = cause instanceof Error ? cause.message : (e as Error).message;
        return { ok: false, detail: `GET ${new URL(url).pathname}: ${reason}` };
    }
}

/** A TCP connect from inside the pod's network namespace, as the kubelet's connect to the pod IP. */
async function tcpProbeInPod(podPid: number, port: number, timeoutMs: number): Promise<ProbeResult> {
    const script =
        `require("net").connect(${port}, "127.0.0.1")` +
        `.on("connect", () => process.exit(0))` +
        `.on("error", (e) => { console.error(e.code); process.exit(1); })`;
    const { code, stderr } = await runToEnd(
        "tcp probe",
        "nsenter",
        [`--net=/proc/${podPid}/ns/net`, "--", process.execPath, "-e", script],
        {
            timeoutMs: timeoutMs + 1000,
            graceMs: 0,
        },
    );
    return code === 0
        ? { ok: true, detail: `tcp ${port}: connected` }
        : { ok: false, detail: `tcp ${port}: ${stderr.trim() || "no answer"}` };
}
