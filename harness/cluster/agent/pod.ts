/**
 * One pod on a node of the agent, run as the kubelet runs it: a network namespace with the pod's
 * IP on the cluster bridge, its volumes made on this machine (ConfigMap and Secret files with
 * their modes and fsGroup, emptyDirs, the PersistentVolume of each claim), and each container as
 * confined processes (bwrap + setpriv, harness/loopback/sandbox.ts) in that namespace, restarted
 * when they exit, their probes run at their periods. The status follows what really happens.
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import type { IContainer } from "kubernetes-models/v1/Container";
import type { IPodSpec } from "kubernetes-models/v1/PodSpec";
import type { IProbe } from "kubernetes-models/v1/Probe";
import { Confinement, SpecError, confinementOf, containerPortOf, resolveEnv } from "../../loopback/kubelet";
import { ManagedProcess, launch, sleep } from "../../../cli/process";
import { setprivArgs, systemBinds } from "../../loopback/sandbox";
import type { KubeApi, KubeObject } from "../kubeApi";
import { CLUSTER_NETWORK } from "../controlPlane";
import { createNetns, deleteLinkIfPresent, deleteNetns, ip, netnsPath, ownedNetnsName } from "../../loopback/netns";
import { ImageError, ImageStore, PodImage } from "./images";
import { ContainerState, ContainerView, podStatus } from "./podStatus";

export interface PodHost {
    readonly api: KubeApi;
    readonly images: ImageStore;
    readonly nodeAddress: string;
    /** The folder for this pod's files (volumes, etc files, logs). */
    readonly dir: string;
    /** A free address of the node's pod range and its number (names the veth). */
    readonly allocateIp: () => { ip: string; index: number };
    readonly releaseIp: (ip: string) => void;
    /** Drops the MAC address that the node and its pods cached for an address a new pod now holds. */
    readonly forgetNeighbour: (ip: string) => void;
    /** The directory of a PersistentVolume the agent provisioned for this node, or undefined. */
    readonly volumeDirOf: (pv: KubeObject) => string | undefined;
    readonly log: (msg: string) => void;
}

const RESTART_BACKOFF_MS = [1_000, 2_000, 5_000, 10_000];
const EXEC_TIMEOUT_GRACE_MS = 1_000;
const UNHEALTHY_EVENT_INTERVAL_MS = 10_000;

/** The host end of a pod's veth pair, named by its address's number (at most 15 characters). */
const vethName = (index: number): string => `a8v${index}`;
const nowIso = (): string => new Date().toISOString().replace(/\.\d+Z$/, "Z");

/** Pure: the pod's /etc/hosts, as the kubelet writes it. */
export function hostsFile(podIp: string, hostname: string, subdomain: string | undefined, namespace: string): string {
    const names = subdomain ? `${hostname}.${subdomain}.${namespace}.svc.${CLUSTER_NETWORK.clusterDomain} ${hostname}` : hostname;
    return `# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n${podIp}\t${names}\n`;
}

/** Pure: the pod's /etc/resolv.conf (dnsPolicy ClusterFirst). */
export function resolvConf(namespace: string): string {
    const d = CLUSTER_NETWORK.clusterDomain;
    return `search ${namespace}.svc.${d} svc.${d} ${d}\nnameserver ${CLUSTER_NETWORK.dnsServiceIp}\noptions ndots:5\n`;
}

/** Pure: the directories above `paths` (outside /usr, /proc, /dev), parents first, each once. */
export function parentDirs(paths: readonly string[]): string[] {
    const out: string[] = [];
    for (const p of paths) {
        const parts = path.posix.normalize(p).split("/").filter(Boolean);
        for (let i = 1; i < parts.length; i++) {
            const dir = `/${parts.slice(0, i).join("/")}`;
            if (["/usr", "/proc", "/dev"].some((s) => dir === s || dir.startsWith(`${s}/`))) continue;
            if (!out.includes(dir)) out.push(dir);
        }
    }
    return out;
}

class Container {
    proc?: ManagedProcess;
    restartCount = 0;
    ready = false;
    live = true;
    state: ContainerState = { waiting: { reason: "ContainerCreating" } };
    lastState?: ContainerState;
    private readinessRun = { successes: 0, failures: 0 };
    private livenessFailures = 0;
    private timers: NodeJS.Timeout[] = [];

    constructor(readonly spec: IContainer) {}

    view(): ContainerView {
        return {
            name: this.spec.name,
            image: this.spec.image ?? "",
            ready: this.ready,
            started: "running" in this.state,
            restartCount: this.restartCount,
            state: this.state,
            ...(this.lastState ? { lastState: this.lastState } : {}),
            ...(this.proc ? { containerId: `${this.proc.pid}` } : {}),
        };
    }

    clearTimers(): void {
        for (const t of this.timers) clearInterval(t);
        this.timers = [];
    }

    /** Starts the probe loops of a freshly started container. */
    schedule(probe: (kind: "readiness" | "liveness", p: IProbe) => Promise<boolean>, changed: () => void, kill: () => void): void {
        this.clearTimers();
        this.readinessRun = { successes: 0, failures: 0 };
        this.livenessFailures = 0;
        const readiness = this.spec.readinessProbe;
        if (!readiness) {
            this.ready = true;
            changed();
        } else {
            this.every(readiness, async () => {
                const ok = await probe("readiness", readiness);
                const run = this.readinessRun;
                if (ok) {
                    run.successes += 1;
                    run.failures = 0;
                } else {
                    run.failures += 1;
                    run.successes = 0;
                }
                const before = this.ready;
                if (ok && run.successes >= (readiness.successThreshold ?? 1)) this.ready = true;
                if (!ok && run.failures >= (readiness.failureThreshold ?? 3)) this.ready = false;
                if (before !== this.ready) changed();
            });
        }
        const liveness = this.spec.livenessProbe;
        if (liveness) {
            this.every(liveness, async () => {
                const ok = await probe("liveness", liveness);
                this.livenessFailures = ok ? 0 : this.livenessFailures + 1;
                if (this.livenessFailures >= (liveness.failureThreshold ?? 3)) {
                    this.livenessFailures = 0;
                    kill();
                }
            });
        }
    }

    private every(p: IProbe, run: () => Promise<void>): void {
        let busy = false;
        const tick = (): void => {
            if (busy || !this.proc?.running) return;
            busy = true;
            void run().finally(() => (busy = false));
        };
        const first = setTimeout(
            () => {
                tick();
                this.timers.push(setInterval(tick, (p.periodSeconds ?? 10) * 1000));
            },
            (p.initialDelaySeconds ?? 0) * 1000,
        );
        this.timers.push(first);
    }
}

export class PodRuntime {
    readonly uid: string;
    readonly namespace: string;
    readonly name: string;
    private readonly spec: IPodSpec;
    private readonly containers: Container[];
    private podIp?: string;
    private netns?: string;
    private vethIndex?: number;
    /** The pod's network namespace, once it has one. */
    get networkNamespace(): string | undefined {
        return this.netns;
    }
    private readonly startTime = nowIso();
    private mounts = new Map<string, { host: string; readOnly: boolean }>();
    private secrets = new Map<string, KubeObject>();
    private images = new Map<string, PodImage>();
    private lastStatus = "";
    private statusTimer?: NodeJS.Timeout;
    private stopping = false;
    private setupError?: string;
    private sandboxReady = false;

    constructor(
        pod: KubeObject,
        private readonly host: PodHost,
    ) {
        this.uid = pod.metadata.uid;
        this.namespace = pod.metadata.namespace;
        this.name = pod.metadata.name;
        this.spec = pod.spec as IPodSpec;
        this.containers = this.spec.containers.map((c) => new Container(c));
    }

    get hostname(): string {
        return this.spec.hostname ?? this.name;
    }

    private apiPath(sub = ""): string {
        return `/api/v1/namespaces/${this.namespace}/pods/${this.name}${sub}`;
    }

    /** Sets the pod up and starts its containers; a failure is reported in the status, not thrown. */
    async start(): Promise<void> {
        try {
            await this.fetchReferences();
            await this.prepareVolumes();
            for (const c of this.containers) this.images.set(c.spec.name, this.host.images.resolve(c.spec.image ?? ""));
            if ((this.spec.initContainers ?? []).length > 0) throw new SpecError("initContainers are not run by this agent");
            this.makeVolumes();
            this.makeNetwork();
            this.sandboxReady = true;
            for (const c of this.containers) this.startContainer(c);
        } catch (e) {
            this.setupError = (e as Error).message;
            const reason = e instanceof ImageError ? "ErrImagePull" : "CreateContainerConfigError";
            for (const c of this.containers) c.state = { waiting: { reason, message: this.setupError } };
            this.host.log(`pod ${this.namespace}/${this.name}: ${this.setupError}`);
        }
        this.scheduleStatus();
    }

    private async fetchReferences(): Promise<void> {
        const names = new Set<string>();
        for (const c of this.containers)
            for (const e of c.spec.env ?? []) if (e.valueFrom?.secretKeyRef?.name) names.add(e.valueFrom.secretKeyRef.name);
        for (const v of this.spec.volumes ?? []) if (v.secret?.secretName) names.add(v.secret.secretName);
        for (const n of names) {
            const s = await this.host.api.find(`/api/v1/namespaces/${this.namespace}/secrets/${n}`);
            if (s) this.secrets.set(n, s);
        }
    }

    private secretValue = (name: string, key: string): string | undefined => {
        const data = this.secrets.get(name)?.data?.[key];
        return typeof data === "string" ? Buffer.from(data, "base64").toString("utf8") : undefined;
    };

    /** Files of a ConfigMap or Secret volume, with the kubelet's modes and the pod's fsGroup. */
    private writeProjected(
        dir: string,
        entries: Record<string, Buffer>,
        items: readonly { key: string; path: string; mode?: number }[] | undefined,
        defaultMode: number,
    ): void {
        fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
        const fsGroup = this.spec.securityContext?.fsGroup;
        const chosen = items ?? Object.keys(entries).map((key) => ({ key, path: key, mode: undefined }));
        for (const item of chosen) {
            const value = entries[item.key];
            if (value === undefined) throw new SpecError(`volume item key "${item.key}" is missing`);
            const file = path.join(dir, item.path);
            fs.mkdirSync(path.dirname(file), { recursive: true });
            fs.writeFileSync(file, value);
            // The kubelet gives fsGroup the files and, with a group, at least read for it.
            const mode = item.mode ?? defaultMode;
            if (fsGroup !== undefined) fs.chownSync(file, 0, fsGroup);
            fs.chmodSync(file, fsGroup !== undefined ? mode | 0o040 : mode);
        }
    }

    private makeVolumes(): void {
        const fsGroup = this.spec.securityContext?.fsGroup;
        const volumeDir = (name: string): string => path.join(this.host.dir, "volumes", name);
        const hostDirs = new Map<string, string>();
        for (const v of this.spec.volumes ?? []) {
            const dir = volumeDir(v.name);
            // Read from the API server beforehand (prepareVolumes).
            if (v.configMap || v.persistentVolumeClaim) continue;
            if (v.secret) {
                const s = this.secrets.get(v.secret.secretName ?? "");
                if (!s) {
                    if (v.secret.optional) continue;
                    throw new SpecError(`volume ${v.name}: Secret "${v.secret.secretName}" not found`);
                }
                const entries = Object.fromEntries(
                    Object.entries((s.data ?? {}) as Record<string, string>).map(([k, b]) => [k, Buffer.from(b, "base64")]),
                );
                this.writeProjected(dir, entries, v.secret.items, v.secret.defaultMode ?? 0o644);
            } else if (v.emptyDir) {
                fs.mkdirSync(dir, { recursive: true });
            } else {
                throw new SpecError(
                    `volume ${v.name}: only configMap, secret, emptyDir and persistentVolumeClaim volumes are supported here`,
                );
            }
            hostDirs.set(v.name, dir);
        }
        for (const [name, dir] of this.claimDirs) hostDirs.set(name, dir);
        for (const [name, dir] of this.configMapDirs) hostDirs.set(name, dir);
        for (const v of this.spec.volumes ?? []) {
            const dir = hostDirs.get(v.name);
            if (dir && (v.emptyDir || v.persistentVolumeClaim) && fsGroup !== undefined) {
                // fsGroup owns writable volumes, setgid so that new files keep the group.
                fs.chownSync(dir, 0, fsGroup);
                fs.chmodSync(dir, 0o2775);
            } else if (dir && v.emptyDir) {
                fs.chmodSync(dir, 0o777);
            }
        }
        for (const c of this.containers) {
            for (const m of c.spec.volumeMounts ?? []) {
                const dir = hostDirs.get(m.name);
                if (!dir) throw new SpecError(`container ${c.spec.name}: volumeMount "${m.name}" names no volume of the pod`);
            }
        }
        this.volumeDirs = hostDirs;
    }

    private volumeDirs = new Map<string, string>();
    private claimDirs = new Map<string, string>();
    private configMapDirs = new Map<string, string>();

    /** ConfigMap volumes and the PersistentVolume directory of each claim (before makeVolumes). */
    private async prepareVolumes(): Promise<void> {
        for (const v of this.spec.volumes ?? []) {
            if (v.configMap) {
                const cm = await this.host.api.find(`/api/v1/namespaces/${this.namespace}/configmaps/${v.configMap.name}`);
                if (!cm) {
                    if (v.configMap.optional) continue;
                    throw new SpecError(`volume ${v.name}: ConfigMap "${v.configMap.name}" not found`);
                }
                const entries = Object.fromEntries(
                    Object.entries((cm.data ?? {}) as Record<string, string>).map(([k, t]) => [k, Buffer.from(t)]),
                );
                const dir = path.join(this.host.dir, "volumes", v.name);
                this.writeProjected(dir, entries, v.configMap.items, v.configMap.defaultMode ?? 0o644);
                this.configMapDirs.set(v.name, dir);
            } else if (v.persistentVolumeClaim) {
                const claim = v.persistentVolumeClaim.claimName;
                const pvc = await this.host.api.find(`/api/v1/namespaces/${this.namespace}/persistentvolumeclaims/${claim}`);
                const pvName = pvc?.spec?.volumeName;
                if (!pvc || pvc.status?.phase !== "Bound" || !pvName)
                    throw new SpecError(`volume ${v.name}: PersistentVolumeClaim "${claim}" is not bound`);
                const pv = await this.host.api.find(`/api/v1/persistentvolumes/${pvName}`);
                const dir = pv && this.host.volumeDirOf(pv);
                if (!dir) throw new SpecError(`volume ${v.name}: PersistentVolume "${pvName}" is not one of this node's`);
                fs.mkdirSync(dir, { recursive: true });
                this.claimDirs.set(v.name, dir);
            }
        }
    }

    private makeNetwork(): void {
        const { ip: podIp, index } = this.host.allocateIp();
        this.podIp = podIp;
        this.vethIndex = index;
        const ns = ownedNetnsName(`pod${index}`);
        createNetns(ns);
        this.netns = ns;
        const veth = vethName(index);
        // A namespace outlives `ip netns delete` while the kernel still holds sockets of it, and
        // with it the old pair of this address: that pair is stale, never another pod's.
        deleteLinkIfPresent(veth);
        ip("link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns);
        ip("link", "set", veth, "master", CLUSTER_NETWORK.bridgeName, "up");
        ip("-n", ns, "addr", "add", `${podIp}/16`, "dev", "eth0");
        ip("-n", ns, "link", "set", "eth0", "up");
        ip("-n", ns, "route", "add", "default", "via", CLUSTER_NETWORK.bridgeAddress);
        // A neighbour entry of the address's last pod outlives it, and packets would go to its old MAC.
        this.host.forgetNeighbour(podIp);
        const etc = path.join(this.host.dir, "etc");
        fs.mkdirSync(etc, { recursive: true });
        fs.writeFileSync(path.join(etc, "hosts"), hostsFile(podIp, this.hostname, this.spec.subdomain, this.namespace), { mode: 0o644 });
        fs.writeFileSync(path.join(etc, "resolv.conf"), resolvConf(this.namespace), { mode: 0o644 });
        fs.writeFileSync(path.join(etc, "nsswitch.conf"), "hosts: files dns\n", { mode: 0o644 });
    }

    /** bwrap + setpriv for a command in the container's sandbox, in the pod's network namespace. */
    private sandboxCommand(c: Container, command: readonly string[]): string[] {
        const image = this.images.get(c.spec.name) as PodImage;
        const confinement: Confinement = confinementOf(c.spec, this.spec);
        const args = [
            `--net=${netnsPath(this.netns as string)}`,
            "--",
            "bwrap",
            "--die-with-parent",
            "--unshare-pid",
            "--unshare-ipc",
            "--unshare-uts",
        ];
        args.push("--hostname", this.hostname, ...systemBinds(), "--proc", "/proc", "--dev", "/dev");
        const etc = path.join(this.host.dir, "etc");
        const binds: [flag: string, host: string, pod: string][] = [
            ...image.binds.map(([hostDir, podDir]) => ["--ro-bind", hostDir, podDir] as [string, string, string]),
            ...["hosts", "resolv.conf", "nsswitch.conf"].map(
                (f) => ["--ro-bind", path.join(etc, f), `/etc/${f}`] as [string, string, string],
            ),
            ...(c.spec.volumeMounts ?? []).map(
                (m) =>
                    [m.readOnly ? "--ro-bind" : "--bind", this.volumeDirs.get(m.name) as string, m.mountPath] as [string, string, string],
            ),
        ];
        const workdir = c.spec.workingDir ?? image.workdir;
        // bwrap makes missing parents of mount points 0700: make them 0755 as an image's are.
        for (const dir of parentDirs([...binds.map((b) => b[2]), `${workdir}/-`])) args.push("--dir", dir);
        for (const b of binds) args.push(...b);
        args.push("--chdir", workdir);
        if (confinement.readOnlyRoot) args.push("--remount-ro", "/");
        args.push(...setprivArgs(confinement), ...command);
        return args;
    }

    private envOf(c: Container): NodeJS.ProcessEnv {
        const image = this.images.get(c.spec.name) as PodImage;
        const { env } = resolveEnv(c.spec, () => undefined, this.secretValue);
        return { PATH: image.path, HOSTNAME: this.hostname, HOME: "/", ...env };
    }

    private logFile(c: Container): string {
        return path.join(this.host.dir, `${c.spec.name}.log`);
    }

    private startContainer(c: Container): void {
        if (this.stopping) return;
        const image = this.images.get(c.spec.name) as PodImage;
        const command = [...(c.spec.command ?? image.entrypoint), ...(c.spec.args ?? [])];
        let env: NodeJS.ProcessEnv;
        try {
            env = this.envOf(c);
        } catch (e) {
            c.state = { waiting: { reason: "CreateContainerConfigError", message: (e as Error).message } };
            this.scheduleStatus();
            return;
        }
        const startedAt = nowIso();
        const proc = launch(`${this.namespace}/${this.name}/${c.spec.name}`, "nsenter", this.sandboxCommand(c, command), {
            env,
            logFile: this.logFile(c),
        }).process;
        c.proc = proc;
        c.ready = false;
        c.state = { running: { startedAt } };
        c.schedule(
            (kind, p) => this.probe(c, kind, p),
            () => this.scheduleStatus(),
            () => {
                this.host.log(`pod ${this.namespace}/${this.name}: container ${c.spec.name} failed its liveness probe, restarting`);
                proc.signal("SIGKILL");
            },
        );
        this.scheduleStatus();
        void proc.exited.then(async (code) => {
            c.clearTimers();
            c.ready = false;
            const terminated: ContainerState = {
                terminated: { exitCode: code ?? 137, reason: code === 0 ? "Completed" : "Error", startedAt, finishedAt: nowIso() },
            };
            if (this.stopping) {
                c.state = terminated;
                return;
            }
            c.lastState = terminated;
            const backoff = RESTART_BACKOFF_MS[Math.min(c.restartCount, RESTART_BACKOFF_MS.length - 1)];
            c.restartCount += 1;
            c.state = { waiting: { reason: "CrashLoopBackOff", message: `back-off ${backoff / 1000}s restarting failed container` } };
            this.scheduleStatus();
            await sleep(backoff);
            this.startContainer(c);
        });
    }

    /** One probe attempt: undefined on success, else why it failed, in the kubelet's words. */
    private async probeFailure(c: Container, p: IProbe): Promise<string | undefined> {
        const timeoutMs = (p.timeoutSeconds ?? 1) * 1000;
        const podIp = this.podIp as string;
        if (p.httpGet) {
            const port = containerPortOf(c.spec, p.httpGet.port, `probe of ${c.spec.name}`);
            const headers = Object.fromEntries((p.httpGet.httpHeaders ?? []).map((h) => [h.name, h.value]));
            const url = `http://${podIp}:${port}${p.httpGet.path ?? "/"}`;
            try {
                const res = await fetch(url, { headers, redirect: "manual", signal: AbortSignal.timeout(timeoutMs) });
                await res.arrayBuffer();
                return res.status >= 200 && res.status < 400 ? undefined : `HTTP probe failed with statuscode: ${res.status}`;
            } catch (e) {
                const cause = (e as { cause?: { code?: string } }).cause?.code ?? (e as Error).name;
                return `Get "${url}": ${cause === "TimeoutError" ? "context deadline exceeded" : cause}`;
            }
        }
        if (p.tcpSocket) {
            const port = containerPortOf(c.spec, p.tcpSocket.port, `probe of ${c.spec.name}`);
            return await new Promise<string | undefined>((resolve) => {
                const s = net.connect({ host: podIp, port, timeout: timeoutMs });
                const done = (failure: string | undefined): void => {
                    s.destroy();
                    resolve(failure);
                };
                s.once("connect", () => done(undefined));
                s.once("timeout", () => done(`dial tcp ${podIp}:${port}: i/o timeout`));
                s.once("error", (e: NodeJS.ErrnoException) => done(`dial tcp ${podIp}:${port}: ${e.code ?? e.message}`));
            });
        }
        if (p.exec?.command) {
            const code = await this.exec(c, p.exec.command, timeoutMs);
            return code === 0 ? undefined : `command ${JSON.stringify(p.exec.command)} exited with ${code ?? "a signal"}`;
        }
        return "the probe has no handler";
    }

    /** One probe attempt; a failure is recorded as the kubelet's `Unhealthy` event. */
    private async probe(c: Container, kind: "readiness" | "liveness", p: IProbe): Promise<boolean> {
        let failure: string | undefined;
        try {
            failure = await this.probeFailure(c, p);
        } catch (e) {
            failure = (e as Error).message;
        }
        if (failure !== undefined) this.recordUnhealthy(c, kind, failure);
        return failure === undefined;
    }

    private lastUnhealthyEvent = new Map<string, number>();

    /** A Warning event as `kubectl describe pod` shows the kubelet's, at most one per container and probe every 10 s. */
    private recordUnhealthy(c: Container, kind: "readiness" | "liveness", failure: string): void {
        const key = `${c.spec.name}/${kind}`;
        const now = Date.now();
        if (now - (this.lastUnhealthyEvent.get(key) ?? 0) < UNHEALTHY_EVENT_INTERVAL_MS) return;
        this.lastUnhealthyEvent.set(key, now);
        const kindName = kind === "readiness" ? "Readiness" : "Liveness";
        const at = nowIso();
        const event = {
            apiVersion: "v1",
            kind: "Event",
            metadata: {
                name: `${this.name}.${now.toString(16)}${Math.floor(Math.random() * 0xfff).toString(16)}`,
                namespace: this.namespace,
            },
            involvedObject: {
                apiVersion: "v1",
                kind: "Pod",
                namespace: this.namespace,
                name: this.name,
                uid: this.uid,
                fieldPath: `spec.containers{${c.spec.name}}`,
            },
            reason: "Unhealthy",
            message: `${kindName} probe failed: ${failure}`,
            type: "Warning",
            source: { component: "kubelet", host: this.spec.nodeName },
            firstTimestamp: at,
            lastTimestamp: at,
            count: 1,
        };
        void this.host.api
            .create(`/api/v1/namespaces/${this.namespace}/events`, event)
            .catch((e: Error) => this.host.log(`pod ${this.namespace}/${this.name}: event: ${e.message}`));
    }

    /** Runs a command in the container's sandbox (exec probes, preStop hooks); resolves with its exit code. */
    private exec(c: Container, command: readonly string[], timeoutMs: number): Promise<number | null> {
        return new Promise((resolve) => {
            const fd = fs.openSync(this.logFile(c), "a");
            let child;
            try {
                child = spawn("nsenter", this.sandboxCommand(c, command), {
                    env: this.envOf(c),
                    stdio: ["ignore", "ignore", fd],
                    detached: true,
                });
            } finally {
                fs.closeSync(fd);
            }
            const timer = setTimeout(() => {
                try {
                    process.kill(-(child.pid as number), "SIGKILL");
                } catch {
                    // already gone
                }
            }, timeoutMs + EXEC_TIMEOUT_GRACE_MS);
            child.once("exit", (code) => {
                clearTimeout(timer);
                resolve(code);
            });
            child.once("error", () => {
                clearTimeout(timer);
                resolve(null);
            });
        });
    }

    /** Writes the status when it changed, at most a few times a second. */
    scheduleStatus(): void {
        if (this.statusTimer) return;
        this.statusTimer = setTimeout(() => {
            this.statusTimer = undefined;
            void this.writeStatus().catch((e: Error) => this.host.log(`pod ${this.namespace}/${this.name}: status: ${e.message}`));
        }, 200);
    }

    private async writeStatus(): Promise<void> {
        const current = await this.host.api.find(this.apiPath());
        if (!current || current.metadata.uid !== this.uid) return;
        const status = podStatus(
            {
                podIp: this.podIp,
                hostIp: this.host.nodeAddress,
                startTime: this.startTime,
                sandboxReady: this.sandboxReady,
                initialized: this.setupError === undefined,
                containers: this.containers.map((c) => c.view()),
            },
            current.status,
            nowIso(),
        );
        const text = JSON.stringify(status);
        if (text === this.lastStatus) return;
        await this.host.api.mergePatch(this.apiPath("/status"), { status });
        this.lastStatus = text;
    }

    /** Stops the pod as the kubelet does: preStop hooks, SIGTERM, SIGKILL after the grace period; then its network. */
    async stop(graceSeconds: number): Promise<void> {
        if (this.stopping) return;
        this.stopping = true;
        const deadline = Date.now() + graceSeconds * 1000;
        await Promise.all(
            this.containers.map(async (c) => {
                c.clearTimers();
                const hook = c.spec.lifecycle?.preStop?.exec?.command;
                if (hook && c.proc?.running) await this.exec(c, hook, Math.max(0, deadline - Date.now()));
                await c.proc?.stop(Math.max(1_000, deadline - Date.now()));
            }),
        );
        // The pair goes first: the namespace itself may linger in the kernel after its delete.
        if (this.vethIndex !== undefined) deleteLinkIfPresent(vethName(this.vethIndex));
        this.vethIndex = undefined;
        if (this.netns) deleteNetns(this.netns);
        if (this.podIp) this.host.releaseIp(this.podIp);
        if (this.statusTimer) clearTimeout(this.statusTimer);
    }
}
