/**
 * Probes: which containers need one, and what a probe checks, said the same way for readiness and
 * liveness so the two can be compared.
 */
import { Container, K8sObject, containerPorts, containersOf, podTemplateOf } from "./k8s";

/** A container that declares a port serves traffic, so readiness decides whether it gets any. */
export function servingContainers(obj: K8sObject): Container[] {
    const pod = podTemplateOf(obj);
    return pod ? containersOf(pod.spec).filter((c) => containerPorts(c).length > 0) : [];
}

/** What a probe checks (`httpGet /health on port 8080`), or undefined when it has no handler. */
export function probeHandler(p: any): string | undefined {
    if (!p || typeof p !== "object") return undefined;
    const host = (h: unknown) => (typeof h === "string" && h !== "" ? ` on host ${h}` : "");
    if (p.httpGet) {
        const scheme = p.httpGet.scheme && p.httpGet.scheme !== "HTTP" ? ` ${p.httpGet.scheme}` : "";
        return `httpGet${scheme} ${p.httpGet.path ?? "/"} on port ${p.httpGet.port}${host(p.httpGet.host)}`;
    }
    if (p.tcpSocket) return `tcpSocket on port ${p.tcpSocket.port}${host(p.tcpSocket.host)}`;
    if (p.grpc) return `grpc on port ${p.grpc.port}${p.grpc.service ? ` service ${p.grpc.service}` : ""}`;
    if (p.exec) return `exec ${JSON.stringify(p.exec.command ?? [])}`;
    return undefined;
}

/** The port a network probe targets (number or name). */
export function probePort(p: any): unknown {
    return p?.httpGet?.port ?? p?.tcpSocket?.port ?? p?.grpc?.port;
}
