/**
 * Runs the real Amalgam8 controller or registry (built by tools/amalgam8/build.sh) from a rendered
 * container spec, confined the way its pod's security context says:
 * - bwrap: own mount, pid, ipc, uts and network namespaces; a root holding only the image layout
 *   (/opt/a8controller or /opt/a8registry, read-only), /proc, /dev, the pod's declared volumes and
 *   /usr read-only (for setpriv); the root is remounted read-only when readOnlyRootFilesystem is set;
 * - setpriv (bwrap's direct child, exec'ing the service): the rendered uid/gid and fsGroup, the
 *   capability bounding set the spec leaves, no_new_privs when allowPrivilegeEscalation is false.
 * The service's own network namespace holds only its loopback, as a pod does. Two relays
 * (tools/loopback/relay.js) connect it to the test's 127.0.0.1: inside, each Service the env
 * names listens on a loopback address of its own (127.0.0.2, ...) at the Service's port; outside,
 * each container port gets a free port on 127.0.0.1. So the service binds its rendered port, and
 * nothing it does reaches any address but the loopback servers the caller named.
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import type { IContainer } from "kubernetes-models/v1/Container";
import type { IPodSpec } from "kubernetes-models/v1/PodSpec";
import type { IProbe } from "kubernetes-models/v1/Probe";
import { Endpoint, ManagedProcess, WaitAborted, freePorts, launch, makeTempDir, removeTempDir, sleep, tailFile, waitFor } from "./process";
import {
    AMALGAM8_BINARY,
    Amalgam8Service,
    Amalgam8Variant,
    CONFINEMENT_PREREQUISITES,
    amalgam8Prerequisites,
    amalgam8ServiceDir,
    requirePrerequisites,
} from "./prerequisites";

export type { Amalgam8Service, Amalgam8Variant } from "./prerequisites";
export type { Endpoint } from "./process";


/** What each upstream image (docker/Dockerfile.<service>) provides beside the binary. */
const IMAGE: Record<Amalgam8Service, { repository: string; tag: string; workdir: string; defaultApiPort: number }> = {
    controller: { repository: "amalgam8/a8-controller", tag: "1.1.0", workdir: "/opt/a8controller", defaultApiPort: 8080 },
    registry: { repository: "amalgam8/a8-registry", tag: "1.1.0", workdir: "/opt/a8registry", defaultApiPort: 8080 },
};

/** Which service an image runs (any registry prefix), or undefined for another image. */
export function amalgam8ServiceOfImage(image: string | undefined): Amalgam8Service | undefined {
    const repo = image?.replace(/[:@].*$/, "");
    return (Object.keys(IMAGE) as Amalgam8Service[]).find((s) => repo === IMAGE[s].repository || repo?.endsWith(`/${IMAGE[s].repository}`));
}

/** The capabilities a container runtime (containerd, CRI-O) grants when the spec drops none. */
const RUNTIME_DEFAULT_CAPS = [
    "CHOWN", "DAC_OVERRIDE", "FSETID", "FOWNER", "MKNOD", "NET_RAW", "SETGID", "SETUID",
    "SETFCAP", "SETPCAP", "NET_BIND_SERVICE", "SYS_CHROOT", "KILL", "AUDIT_WRITE",
];

export interface Amalgam8Spec {
    readonly service: Amalgam8Service;
    /** The rendered container (Deployment .spec.template.spec.containers[i]). */
    readonly container: IContainer;
    /** The rendered pod spec it belongs to (volumes, pod security context). */
    readonly pod: IPodSpec;
    readonly variant?: Amalgam8Variant;
    /** The loopback endpoint standing for a Service DNS name and port; undefined when no Service of the stack has them. */
    readonly addressFor: (host: string, port: number) => Endpoint | undefined;
    /** The value of `key` in the rendered Secret `name`; undefined when the stack renders no such Secret or key. */
    readonly secretValue: (name: string, key: string) => string | undefined;
    /** Shown in process names, logs and the temp dir name. */
    readonly label?: string;
}

/** One way the environment differs from the rendered container's, and why. */
export interface Substitution {
    readonly env: string;
    readonly rendered: string;
    /** Secret values are never shown. */
    readonly used: string;
    readonly why: string;
}

export type ProbeKind = "readiness" | "liveness";

export interface ProbeResult {
    readonly ok: boolean;
    readonly detail: string;
}

export interface Amalgam8Instance {
    readonly service: Amalgam8Service;
    /** http://127.0.0.1:<port> reaching the container port named "http" (or its first one). */
    readonly url: string;
    readonly port: number;
    /** Pid of the running service (changes on restart); it is in bwrap's process group, which stop() and kill() signal. */
    readonly pid: number;
    readonly running: boolean;
    readonly substitutions: readonly Substitution[];
    /** The free 127.0.0.1 port that reaches a container port (a number or a port name). */
    hostPortFor(containerPort: number | string): number;
    /** One attempt of the rendered probe, as the kubelet makes it (path, port, headers, timeout). */
    probe(kind: ProbeKind): Promise<ProbeResult>;
    /** Polls the readiness probe at its period until Ready, within the liveness probe's budget. */
    waitReady(timeoutMs?: number): Promise<{ readonly ms: number; readonly attempts: number }>;
    /** SIGTERM, then SIGKILL after the grace period (bounded); removes everything it created. */
    stop(): Promise<void>;
    /** SIGKILL the service (a crash); the instance can restart(). */
    kill(): Promise<void>;
    /** SIGKILL if running, then start again under the same spec and ports. */
    restart(): Promise<void>;
    logs(lines?: number): string;
}

// ---------------------------------------------------------------------------------------------
// Pure parts: environment, security context, ports

const SERVICE_ADDRESS = /(^|[/@,])([a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*):(\d{1,5})(?=$|[/?,])/g;
const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

export interface ResolvedEnv {
    readonly env: Record<string, string>;
    readonly substitutions: readonly Substitution[];
    /** Service endpoints named in env, each with the loopback address standing for it in the pod. */
    readonly services: readonly { readonly name: string; readonly inPod: Endpoint; readonly target: Endpoint }[];
}

export class SpecError extends Error {}

/** The environment the kubelet would give the container, with the loopback substitutions applied. */
export function resolveEnv(container: IContainer, addressFor: Amalgam8Spec["addressFor"], secretValue: Amalgam8Spec["secretValue"]): ResolvedEnv {
    if (container.envFrom && container.envFrom.length > 0) throw new SpecError(`container ${container.name}: envFrom is not supported here`);
    const env: Record<string, string> = {};
    const substitutions: Substitution[] = [];
    const services = new Map<string, { name: string; inPod: Endpoint; target: Endpoint }>();
    for (const e of container.env ?? []) {
        let value: string;
        if (e.valueFrom) {
            const ref = e.valueFrom.secretKeyRef;
            if (!ref || Object.keys(e.valueFrom).length !== 1) {
                throw new SpecError(`env ${e.name}: only valueFrom.secretKeyRef is supported here (got ${Object.keys(e.valueFrom).join(", ")})`);
            }
            const secret = ref.name === undefined ? undefined : secretValue(ref.name, ref.key);
            if (secret === undefined) {
                if (ref.optional) continue;
                // The kubelet refuses to create the container (CreateContainerConfigError).
                throw new SpecError(`env ${e.name}: secretKeyRef names key "${ref.key}" of Secret "${String(ref.name)}", which the stack does not render: the container cannot be created`);
            }
            value = secret;
            substitutions.push({ env: e.name, rendered: `secretKeyRef ${String(ref.name)}/${ref.key}`, used: "(the rendered Secret's value)", why: "no API server: the kubelet would read the Secret" });
        } else {
            // $(VAR) refers to a variable defined earlier in the list; $$ escapes it.
            value = (e.value ?? "").replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, name?: string) => (m === "$$" ? "$" : name !== undefined && name in env ? env[name] : m));
            const rendered = value;
            value = value.replace(SERVICE_ADDRESS, (m, prefix: string, host: string, port: string) => {
                if (IPV4.test(host)) return m;
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
                substitutions.push({ env: e.name, rendered, used: value, why: "a host name of the stack (a Service's DNS name, or the external Redis endpoint) becomes the loopback address standing for it inside the pod's network namespace" });
            }
        }
        env[e.name] = value;
    }
    return { env, substitutions, services: [...services.values()] };
}

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
function confinementOf(container: IContainer, pod: IPodSpec): Confinement {
    const c = container.securityContext ?? {};
    const p = pod.securityContext ?? {};
    if (c.privileged) throw new SpecError(`container ${container.name}: privileged containers are not run here`);
    const uid = c.runAsUser ?? p.runAsUser ?? 0;
    const gid = c.runAsGroup ?? p.runAsGroup ?? 0;
    if ((c.runAsNonRoot ?? p.runAsNonRoot) && uid === 0) {
        throw new SpecError(`container ${container.name}: runAsNonRoot is set but the image runs as root (no runAsUser): the kubelet refuses to start it`);
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

/** The container port a port reference (number or name) means; throws for an unknown name. */
function containerPortOf(container: IContainer, ref: number | string, what: string): number {
    if (typeof ref === "number") return ref;
    if (/^\d+$/.test(ref)) return Number(ref);
    const p = (container.ports ?? []).find((x) => x.name === ref);
    if (!p) throw new SpecError(`${what}: port "${ref}" names no port of container ${container.name} (ports: ${(container.ports ?? []).map((x) => x.name ?? x.containerPort).join(", ") || "none"})`);
    return p.containerPort;
}

function probeOf(container: IContainer, kind: ProbeKind): IProbe | undefined {
    return kind === "readiness" ? container.readinessProbe : container.livenessProbe;
}

function probePort(container: IContainer, probe: IProbe, kind: ProbeKind): number {
    const ref = probe.httpGet?.port ?? probe.tcpSocket?.port;
    if (ref === undefined) throw new SpecError(`${kind} probe of ${container.name}: only httpGet and tcpSocket probes can reach a FROM-scratch image`);
    return containerPortOf(container, ref, `${kind} probe of ${container.name}`);
}

/** The seconds a liveness probe gives a starting container before the kubelet kills it. */
function livenessBudgetSeconds(probe: IProbe | undefined): number | undefined {
    if (!probe) return undefined;
    return (probe.initialDelaySeconds ?? 0) + (probe.periodSeconds ?? 10) * (probe.failureThreshold ?? 3);
}

// ---------------------------------------------------------------------------------------------
// Processes

const RELAY_SCRIPT = path.join(__dirname, "relay.js");

interface Route {
    readonly listen: { host?: string; port?: number; path?: string };
    readonly connect: { host?: string; port?: number; path?: string };
}

async function startRelay(name: string, routes: readonly Route[], logFile: string, netnsOfPid?: number): Promise<ManagedProcess> {
    const node = process.execPath;
    const [cmd, args] = netnsOfPid === undefined
        ? [node, [RELAY_SCRIPT, JSON.stringify(routes)]]
        : ["nsenter", [`--net=/proc/${netnsOfPid}/ns/net`, "--", node, RELAY_SCRIPT, JSON.stringify(routes)]];
    const fd = fs.openSync(logFile, "a");
    let child;
    try {
        child = spawn(cmd, args, { env: { PATH: process.env.PATH ?? "" }, stdio: ["ignore", "pipe", fd], detached: true });
    } finally {
        fs.closeSync(fd);
    }
    const proc = new ManagedProcess(name, child);
    let out = "";
    child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
    await waitFor(`${name} to listen`, 10000, async () => {
        if (!proc.running) throw new WaitAborted(`${name} exited: ${tailFile(logFile, 5)}`);
        return out.includes("ready");
    }, 20);
    return proc;
}

function readInfoFd(child: ReturnType<typeof spawn>, timeoutMs: number): Promise<number> {
    return new Promise((resolve, reject) => {
        const stream = child.stdio[3] as NodeJS.ReadableStream | null;
        if (!stream) return reject(new Error("bwrap: no info fd"));
        let text = "";
        const timer = setTimeout(() => reject(new Error(`bwrap reported no child pid within ${timeoutMs} ms`)), timeoutMs);
        const done = (): void => {
            const m = /"child-pid":\s*(\d+)/.exec(text);
            clearTimeout(timer);
            if (m) resolve(Number(m[1]));
            else reject(new Error(`bwrap exited before starting the service: ${text.trim() || "(no info)"}`));
        };
        stream.on("data", (d: Buffer) => {
            text += d.toString();
            if (/"child-pid":\s*\d+/.test(text)) done();
        });
        stream.on("end", done);
    });
}

/** bwrap + setpriv arguments for a service laid out in `layoutDir`. */
function sandboxArgs(service: Amalgam8Service, layoutDir: string, confinement: Confinement, mounts: readonly string[], container: IContainer): string[] {
    const image = IMAGE[service];
    const args = ["--die-with-parent", "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--hostname", container.name];
    args.push("--ro-bind", "/usr", "/usr");
    for (const dir of ["/lib", "/lib64", "/bin"]) {
        // Debian's merged /usr: these are symlinks into /usr; setpriv needs its loader and libraries.
        if (!fs.existsSync(dir)) continue;
        if (fs.lstatSync(dir).isSymbolicLink()) args.push("--symlink", fs.readlinkSync(dir), dir);
        else args.push("--ro-bind", dir, dir);
    }
    args.push("--proc", "/proc", "--dev", "/dev", "--dir", path.posix.dirname(image.workdir), "--ro-bind", layoutDir, image.workdir, ...mounts);
    args.push("--chdir", container.workingDir ?? image.workdir);
    if (confinement.readOnlyRoot) args.push("--remount-ro", "/");
    args.push("--info-fd", "3");
    const caps = confinement.capabilities.length === 0 ? "-all" : ["-all", ...confinement.capabilities.map((x) => `+${x.toLowerCase()}`)].join(",");
    args.push(
        "/usr/bin/setpriv",
        `--reuid=${confinement.uid}`,
        `--regid=${confinement.gid}`,
        ...(confinement.groups.length > 0 ? [`--groups=${confinement.groups.join(",")}`] : ["--clear-groups"]),
        "--inh-caps=-all",
        `--bounding-set=${caps}`,
        ...(confinement.noNewPrivs ? ["--no-new-privs"] : []),
        "--",
    );
    args.push(...(container.command ?? [path.posix.join(image.workdir, AMALGAM8_BINARY[service])]), ...(container.args ?? []));
    return args;
}

/** bwrap mounts for the container's volumeMounts; only emptyDir volumes are supported. */
function volumeMounts(container: IContainer, pod: IPodSpec, dir: string): string[] {
    const out: string[] = [];
    for (const m of container.volumeMounts ?? []) {
        const v = (pod.volumes ?? []).find((x) => x.name === m.name);
        if (!v) throw new SpecError(`container ${container.name}: volumeMount "${m.name}" names no volume of the pod`);
        if (!v.emptyDir) throw new SpecError(`volume "${m.name}": only emptyDir volumes are supported here`);
        if (v.emptyDir.medium === "Memory") {
            out.push("--tmpfs", m.mountPath);
        } else {
            const host = path.join(dir, "volumes", m.name);
            fs.mkdirSync(host, { recursive: true, mode: 0o777 });
            fs.chmodSync(host, 0o777);
            out.push(m.readOnly ? "--ro-bind" : "--bind", host, m.mountPath);
        }
    }
    return out;
}

async function httpProbe(url: string, headers: Record<string, string>, timeoutMs: number): Promise<ProbeResult> {
    try {
        const res = await fetch(url, { headers, redirect: "manual", signal: AbortSignal.timeout(timeoutMs) });
        await res.arrayBuffer();
        // The kubelet counts 200-399 as success.
        return { ok: res.status >= 200 && res.status < 400, detail: `GET ${new URL(url).pathname} -> ${res.status}` };
    } catch (e) {
        return { ok: false, detail: `GET ${new URL(url).pathname}: ${(e as Error).cause instanceof Error ? ((e as Error).cause as Error).message : (e as Error).message}` };
    }
}

/** A TCP connect from inside the pod's network namespace, as the kubelet's connect to the pod IP. */
function tcpProbeInPod(podPid: number, port: number, timeoutMs: number): Promise<ProbeResult> {
    const script = `require("net").connect(${port}, "127.0.0.1").on("connect", () => process.exit(0)).on("error", (e) => { console.error(e.code); process.exit(1); })`;
    return new Promise((resolve) => {
        const child = spawn("nsenter", [`--net=/proc/${podPid}/ns/net`, "--", process.execPath, "-e", script], { stdio: ["ignore", "ignore", "pipe"] });
        let err = "";
        child.stderr.on("data", (d: Buffer) => (err += d.toString()));
        const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs + 1000);
        child.once("exit", (code) => {
            clearTimeout(timer);
            resolve(code === 0 ? { ok: true, detail: `tcp ${port}: connected` } : { ok: false, detail: `tcp ${port}: ${err.trim() || "no answer"}` });
        });
    });
}

/**
 * Starts the service and returns once its process runs (not yet Ready: call waitReady()).
 * Throws a SpecError naming the field when the spec could not start in a cluster either.
 */
export async function startAmalgam8(spec: Amalgam8Spec): Promise<Amalgam8Instance> {
    const variant = spec.variant ?? "upstream";
    requirePrerequisites([...CONFINEMENT_PREREQUISITES, ...amalgam8Prerequisites(variant)], "Running the Amalgam8 services on loopback");
    const image = IMAGE[spec.service];
    const { container, pod } = spec;
    const label = spec.label ?? spec.service;
    const expectedImage = `${image.repository}:${image.tag}`;
    if (typeof container.image !== "string" || !(container.image === expectedImage || container.image.endsWith(`/${expectedImage}`))) {
        throw new SpecError(`container ${container.name}: image ${String(container.image)} is not ${expectedImage}, the release built here`);
    }
    const { env, substitutions, services } = resolveEnv(container, spec.addressFor, spec.secretValue);
    const confinement = confinementOf(container, pod);

    // Ports the pod exposes: its declared ports, numeric probe ports and the port the service binds.
    const apiPort = env.A8_API_PORT !== undefined && /^\d+$/.test(env.A8_API_PORT) ? Number(env.A8_API_PORT) : image.defaultApiPort;
    const podPorts = new Set<number>((container.ports ?? []).map((p) => p.containerPort));
    for (const kind of ["readiness", "liveness"] as const) {
        const probe = probeOf(container, kind);
        if (probe) podPorts.add(probePort(container, probe, kind));
    }
    podPorts.add(apiPort);
    const hostPorts = new Map<number, number>();
    const free = await freePorts(podPorts.size);
    [...podPorts].forEach((p, i) => hostPorts.set(p, free[i]));

    const dir = makeTempDir(`a8-${label}`);
    const sock = (name: string): string => path.join(dir, "s", `${name}.sock`);
    const logFile = (name: string): string => path.join(dir, "logs", `${name}.log`);
    fs.mkdirSync(path.join(dir, "s"));
    fs.mkdirSync(path.join(dir, "logs"));
    const mounts = volumeMounts(container, pod, dir);
    const bwrapArgs = sandboxArgs(spec.service, amalgam8ServiceDir(variant, spec.service), confinement, mounts, container);

    const outside: Route[] = [
        ...[...hostPorts].map(([podPort, hostPort]) => ({ listen: { host: "127.0.0.1", port: hostPort }, connect: { path: sock(`in-${podPort}`) } })),
        ...services.map((s, i) => ({ listen: { path: sock(`out-${i}`) }, connect: { host: s.target.host, port: s.target.port } })),
    ];
    const inside: Route[] = [
        ...[...hostPorts.keys()].map((podPort) => ({ listen: { path: sock(`in-${podPort}`) }, connect: { host: "127.0.0.1", port: podPort } })),
        ...services.map((s, i) => ({ listen: { host: s.inPod.host, port: s.inPod.port }, connect: { path: sock(`out-${i}`) } })),
    ];

    let hostRelay: ManagedProcess | undefined;
    let sandbox: ManagedProcess | undefined;
    let podRelay: ManagedProcess | undefined;
    let servicePid = 0;
    let stopped = false;

    const startService = async (): Promise<void> => {
        const started = launch(`${label}/service`, "bwrap", bwrapArgs, { env: { ...env }, logFile: logFile("service"), extraStdio: ["pipe"] });
        sandbox = started.process;
        const podInit = await readInfoFd(started.child, 10000);
        // bwrap's reaper is pid 1 of the pod's pid namespace; setpriv, exec'ing the service, is its child.
        servicePid = await waitFor(`${label}: the service process`, 5000, async () => {
            if (!sandbox?.running) throw new WaitAborted(`${label}: bwrap exited: ${tailFile(logFile("service"), 10)}`);
            const children = fs.readFileSync(`/proc/${podInit}/task/${podInit}/children`, "utf8").trim().split(/\s+/).filter(Boolean);
            return children.length > 0 ? Number(children[0]) : undefined;
        }, 10);
        podRelay = await startRelay(`${label}/pod-relay`, inside, logFile("pod-relay"), servicePid);
    };
    /**
     * Signals the service itself: its exit ends bwrap's reaper and then bwrap, each reaped by its
     * parent. (Killing the whole group at once would orphan the reaper.) The group gets SIGKILL
     * only when the service outlives graceMs.
     */
    const endService = async (signal: NodeJS.Signals, graceMs: number): Promise<void> => {
        if (sandbox?.running) {
            try {
                process.kill(servicePid, signal);
            } catch {
                // already gone
            }
            if (!(await sandbox.waitExit(graceMs))) {
                sandbox.signal("SIGKILL");
                if (!(await sandbox.waitExit(5000))) throw new Error(`${label}: the service (pid ${servicePid}) survived SIGKILL`);
            }
        }
        await podRelay?.stop(1000);
    };
    const killService = (): Promise<void> => endService("SIGKILL", 5000);

    try {
        hostRelay = await startRelay(`${label}/host-relay`, outside, logFile("host-relay"));
        await startService();
    } catch (e) {
        await Promise.allSettled([sandbox?.stop(1000), podRelay?.stop(1000), hostRelay?.stop(1000)]);
        removeTempDir(dir);
        throw e;
    }

    const hostPortFor = (ref: number | string): number => {
        const p = containerPortOf(container, ref, `container ${container.name}`);
        const h = hostPorts.get(p);
        if (h === undefined) throw new SpecError(`container ${container.name}: port ${p} is not a port of the pod`);
        return h;
    };
    const mainPort = hostPortFor((container.ports ?? []).find((p) => p.name === "http")?.containerPort ?? container.ports?.[0]?.containerPort ?? apiPort);
    const probeTimeoutMs = (probe: IProbe): number => (probe.timeoutSeconds ?? 1) * 1000;

    const probe = async (kind: ProbeKind): Promise<ProbeResult> => {
        const p = probeOf(container, kind);
        if (!p) return { ok: true, detail: `no ${kind} probe (the kubelet counts the container as ${kind === "readiness" ? "Ready" : "live"})` };
        const port = hostPortFor(probePort(container, p, kind));
        if (p.httpGet) {
            if ((p.httpGet.scheme ?? "HTTP") !== "HTTP") return { ok: false, detail: `${kind} probe uses ${p.httpGet.scheme}: the service serves plain HTTP only` };
            const headers = Object.fromEntries((p.httpGet.httpHeaders ?? []).map((h) => [h.name, h.value]));
            return httpProbe(`http://127.0.0.1:${port}${p.httpGet.path ?? "/"}`, headers, probeTimeoutMs(p));
        }
        return tcpProbeInPod(servicePid, probePort(container, p, kind), probeTimeoutMs(p));
    };

    const instance: Amalgam8Instance = {
        service: spec.service,
        url: `http://127.0.0.1:${mainPort}`,
        port: mainPort,
        get pid() {
            return servicePid;
        },
        get running() {
            return sandbox?.running ?? false;
        },
        substitutions,
        hostPortFor,
        probe,
        async waitReady(timeoutMs?: number) {
            const readiness = container.readinessProbe;
            const budgetS = livenessBudgetSeconds(container.livenessProbe);
            const limit = timeoutMs ?? (budgetS !== undefined ? budgetS * 1000 : 60000);
            const period = (readiness?.periodSeconds ?? 10) * 1000;
            const needed = readiness?.successThreshold ?? 1;
            const t0 = Date.now();
            await sleep((readiness?.initialDelaySeconds ?? 0) * 1000);
            let attempts = 0;
            let streak = 0;
            let last: ProbeResult | undefined;
            for (;;) {
                if (!sandbox?.running) throw new Error(`${label} exited before it was Ready:\n${tailFile(logFile("service"), 15)}`);
                attempts++;
                last = await probe("readiness");
                streak = last.ok ? streak + 1 : 0;
                if (streak >= needed) return { ms: Date.now() - t0, attempts };
                if (Date.now() - t0 + period > limit) {
                    throw new Error(`${label} not Ready within ${limit} ms (${attempts} readiness probes, last: ${last.detail}):\n${tailFile(logFile("service"), 15)}`);
                }
                // An exit ends the wait at once rather than at the next period.
                await Promise.race([sleep(period), sandbox.exited]);
            }
        },
        async stop() {
            if (stopped) return;
            stopped = true;
            const graceMs = Math.min((pod.terminationGracePeriodSeconds ?? 30) * 1000, 5000);
            const results = await Promise.allSettled([endService("SIGTERM", graceMs)]);
            results.push(...(await Promise.allSettled([podRelay?.stop(1000), hostRelay?.stop(1000)])));
            removeTempDir(dir);
            const failed = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
            if (failed.length > 0) throw new Error(`${label}: ${failed.map((f) => String(f.reason)).join("; ")}`);
        },
        async kill() {
            await killService();
        },
        async restart() {
            if (stopped) throw new Error(`${label} was stopped`);
            await killService();
            await startService();
        },
        logs(lines = 30) {
            return tailFile(logFile("service"), lines);
        },
    };
    return instance;
}
