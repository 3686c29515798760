/**
 * What the kubelet derives from a rendered container and its pod, as pure functions: the
 * environment (Secret references resolved, Service addresses mapped to loopback stand-ins), the
 * confinement its security contexts ask for, its ports and its probes. A spec the kubelet would
 * refuse is a SpecError naming the field.
 */
import type { IContainer } from "kubernetes-models/v1/Container";
import type { IPodSpec } from "kubernetes-models/v1/PodSpec";
import type { IProbe } from "kubernetes-models/v1/Probe";
import { isIpLiteral } from "../../components/hosts";
import { Endpoint } from "../../cli/process";

export class SpecError extends Error {}

/** The loopback endpoint standing for a Service DNS name and port, or undefined. */
export type AddressFor = (host: string, port: number) => Endpoint | undefined;
/** The value of `key` in the rendered Secret `name`, or undefined. */
export type SecretValue = (name: string, key: string) => string | undefined;

/** One way the environment differs from the rendered container's, and why. */
export interface Substitution {
    readonly env: string;
    readonly rendered: string;
    /** Secret values are never shown. */
    readonly used: string;
    readonly why: string;
}

// ---------------------------------------------------------------------------------------------
// Environment

const SERVICE_ADDRESS = /(^|[/@,])([a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*):(\d{1,5})(?=$|[/?,])/g;

export interface ResolvedEnv {
    readonly env: Record<string, string>;
    readonly substitutions: readonly Substitution[];
    /** Service endpoints named in env, each with the loopback address standing for it in the pod. */
    readonly services: readonly { readonly name: string; readonly inPod: Endpoint; readonly target: Endpoint }[];
}

/** The environment the kubelet would give the container, with the loopback substitutions applied. */
export function resolveEnv(container: IContainer, addressFor: AddressFor, secretValue: SecretValue): ResolvedEnv {
    if (container.envFrom && container.envFrom.length > 0)
        throw new SpecError(`container ${container.name}: envFrom is not supported here`);
    const env: Record<string, string> = {};
    const substitutions: Substitution[] = [];
    const services = new Map<string, { name: string; inPod: Endpoint; target: Endpoint }>();
    for (const e of container.env ?? []) {
        let value: string;
        if (e.valueFrom) {
            const ref = e.valueFrom.secretKeyRef;
            if (!ref || Object.keys(e.valueFrom).length !== 1) {
                throw new SpecError(
                    `env ${e.name}: only valueFrom.secretKeyRef is supported here (got ${Object.keys(e.valueFrom).join(", ")})`,
                );
            }
            const secret = ref.name === undefined ? undefined : secretValue(ref.name, ref.key);
            if (secret === undefined) {
                if (ref.optional) continue;
                // The kubelet refuses to create the container (CreateContainerConfigError).
                throw new SpecError(
                    `env ${e.name}: couldn't find key "${ref.key}" in Secret "${String(ref.name)}": the container cannot be created`,
                );
            }
            value = secret;
            substitutions.push({
                env: e.name,
                rendered: `secretKeyRef ${String(ref.name)}/${ref.key}`,
                used: "(the rendered Secret's value)",
                why: "no API server: the kubelet would read the Secret",
            });
        } else {
            // $(VAR) refers to a variable defined earlier in the list; $$ escapes it.
            value = (e.value ?? "").replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, name?: string) =>
                m === "$$" ? "$" : name !== undefined && name in env ? env[name] : m,
            );
            const rendered = value;
            value = value.replace(SERVICE_ADDRESS, (m, prefix: string, host: string, port: string) => {
                if (isIpLiteral(host)) return m;
                const target = addressFor(host, Number(port));
                // No Service of that name: left verbatim, it fails inside the pod as it would in the cluster.
                if (!target) return m;
                const key = `${host}:${port}`;
                let svc = services.get(key);
                if (!svc) {
                    svc = { name: key, inPod: { host: `127.0.0.${services.size + 2}`, port: Number(port) }, target };
                    services.set(key, svc);
                }
                return `${prefix}${svc.inPod.host}:${port}`;
            });
            if (value !== rendered) {
                substitutions.push({
                    env: e.name,
                    rendered,
                    used: value,
                    why:
                        "a host name of the stack (a Service's DNS name, or the external Redis endpoint) " +
                        "becomes the loopback address standing for it inside the pod's network namespace",
                });
            }
        }
        env[e.name] = value;
    }
    return { env, substitutions, services: [...services.values()] };
}

// ---------------------------------------------------------------------------------------------
// Security context

/** The capabilities a container runtime (containerd, CRI-O) grants when the spec drops none. */
const RUNTIME_DEFAULT_CAPS = [
    "CHOWN",
    "DAC_OVERRIDE",
    "FSETID",
    "FOWNER",
    "MKNOD",
    "NET_RAW",
    "SETGID",
    "SETUID",
    "SETFCAP",
    "SETPCAP",
    "NET_BIND_SERVICE",
    "SYS_CHROOT",
    "KILL",
    "AUDIT_WRITE",
];

export interface Confinement {
    readonly uid: number;
    readonly gid: number;
    readonly groups: readonly number[];
    readonly readOnlyRoot: boolean;
    readonly noNewPrivs: boolean;
    /** Capabilities left in the bounding set. */
    readonly capabilities: readonly string[];
}

/** What the kubelet derives from the pod and container security contexts (the image sets no USER). */
export function confinementOf(container: IContainer, pod: IPodSpec): Confinement {
    const c = container.securityContext ?? {};
    const p = pod.securityContext ?? {};
    if (c.privileged) throw new SpecError(`container ${container.name}: privileged containers are not run here`);
    const uid = c.runAsUser ?? p.runAsUser ?? 0;
    const gid = c.runAsGroup ?? p.runAsGroup ?? 0;
    if ((c.runAsNonRoot ?? p.runAsNonRoot) && uid === 0) {
        throw new SpecError(
            `container ${container.name}: runAsNonRoot is set but the image runs as root (no runAsUser): the kubelet refuses to start it`,
        );
    }
    const drop = new Set((c.capabilities?.drop ?? []).map((x) => x.toUpperCase().replace(/^CAP_/, "")));
    const add = (c.capabilities?.add ?? []).map((x) => x.toUpperCase().replace(/^CAP_/, ""));
    const kept = drop.has("ALL") ? [] : RUNTIME_DEFAULT_CAPS.filter((x) => !drop.has(x));
    const groups = [...new Set([...(p.fsGroup !== undefined ? [p.fsGroup] : []), ...(p.supplementalGroups ?? [])])];
    return {
        uid,
        gid,
        groups,
        readOnlyRoot: c.readOnlyRootFilesystem === true,
        noNewPrivs: c.allowPrivilegeEscalation === false,
        capabilities: [...new Set([...kept, ...add])],
    };
}

// ---------------------------------------------------------------------------------------------
// Ports and probes

export type ProbeKind = "readiness" | "liveness";

/** The container port a port reference (number or name) means; throws for an unknown name. */
export function containerPortOf(container: IContainer, ref: number | string, what: string): number {
    if (typeof ref === "number") return ref;
    if (/^\d+$/.test(ref)) return Number(ref);
    const p = (container.ports ?? []).find((x) => x.name === ref);
    if (!p) {
        const known = (container.ports ?? []).map((x) => x.name ?? x.containerPort).join(", ") || "none";
        throw new SpecError(`${what}: port "${ref}" names no port of container ${container.name} (ports: ${known})`);
    }
    return p.containerPort;
}

export function probeOf(container: IContainer, kind: ProbeKind): IProbe | undefined {
    return kind === "readiness" ? container.readinessProbe : container.livenessProbe;
}

export function probePort(container: IContainer, probe: IProbe, kind: ProbeKind): number {
    const ref = probe.httpGet?.port ?? probe.tcpSocket?.port;
    if (ref === undefined)
        throw new SpecError(`${kind} probe of ${container.name}: only httpGet and tcpSocket probes can reach a FROM-scratch image`);
    return containerPortOf(container, ref, `${kind} probe of ${container.name}`);
}

/** The seconds a liveness probe gives a starting container before the kubelet kills it. */
export function livenessBudgetSeconds(probe: IProbe | undefined): number | undefined {
    if (!probe) return undefined;
    return (probe.initialDelaySeconds ?? 0) + (probe.periodSeconds ?? 10) * (probe.failureThreshold ?? 3);
}
