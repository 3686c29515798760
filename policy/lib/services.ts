/**
 * Services seen from their clients: which Service an in-cluster host name means, and whether a
 * Service port reaches a container port.
 */
import { Container, containerPorts } from "./k8s";
import type { Entry, StackModel } from "./model";

/** `$(REDIS_SERVICE_HOST)`: the env var Kubernetes sets for Service `redis`. */
const SERVICE_HOST_VAR = /^\$\(([A-Z0-9_]+)_SERVICE_HOST\)$/;

/** Service named by a host such as `redis`, `redis.ns`, `redis.ns.svc.cluster.local` or `$(REDIS_SERVICE_HOST)`. */
export function serviceForHost(model: StackModel, host: string, ns: string): Entry | undefined {
    const env = SERVICE_HOST_VAR.exec(host);
    if (env) {
        const name = env[1].toLowerCase().replace(/_/g, "-");
        return model.find("Service", ns, name);
    }
    const parts = host.toLowerCase().split(".");
    const inCluster = parts.length === 1 || parts.length === 2 || parts[2] === "svc";
    if (!inCluster) {
        return undefined;
    }
    return model.find("Service", parts[1] ?? ns, parts[0]) ?? (parts.length === 1 ? undefined : model.find("Service", ns, parts[0]));
}

/** A host that can only mean a Service of the cluster: a bare name, `<name>.<ns>.svc...`, or `$(X_SERVICE_HOST)`. */
export function isInClusterHost(host: string): boolean {
    const parts = host.toLowerCase().split(".");
    return parts.length === 1 || parts[2] === "svc" || SERVICE_HOST_VAR.test(host);
}

/** Whether a Service targetPort (number or port name) with its protocol is a port the container declares. */
export function containerServesTargetPort(c: Container, target: unknown, protocol: string): boolean {
    return containerPorts(c).some(
        (p) => (p?.protocol ?? "TCP") === protocol && (typeof target === "number" ? p?.containerPort === target : p?.name === target),
    );
}
