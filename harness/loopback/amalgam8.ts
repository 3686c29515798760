/**
 * Runs the real Amalgam8 controller or registry (built by tools/amalgam8/build.sh) from a rendered
 * container spec, confined the way its pod's security context says (sandbox.ts: bwrap and
 * setpriv, its own network namespace holding only its loopback). Two relays (harness/loopback/relay.js)
 * connect it to the caller's 127.0.0.1: inside, each Service the env names listens on a loopback
 * address of its own (127.0.0.2, ...) at the Service's port; outside, each container port gets a
 * free port on 127.0.0.1. So the service binds its rendered port, and nothing it does reaches any
 * address but the loopback servers the caller named. What the kubelet derives from the spec (env,
 * confinement, ports, probes) is in kubelet.ts.
 */
import * as fs from "fs";
import * as path from "path";
import type { IContainer } from "kubernetes-models/v1/Container";
import type { IPodSpec } from "kubernetes-models/v1/PodSpec";
import {
    AddressFor,
    ProbeKind,
    SecretValue,
    SpecError,
    Substitution,
    confinementOf,
    containerPortOf,
    livenessBudgetSeconds,
    probeOf,
    probePort,
    resolveEnv,
} from "./kubelet";
import {
    AMALGAM8_BINARY,
    Amalgam8Service,
    Amalgam8Variant,
    CONFINEMENT_PREREQUISITES,
    amalgam8Prerequisites,
    amalgam8ServiceDir,
    requirePrerequisites,
} from "./prerequisites";
import { ProbeResult, probeOnce } from "./probes";
import { ManagedProcess, WaitAborted, freePorts, launch, makeTempDir, removeTempDir, sleep, tailFile, waitFor } from "../../cli/process";
import { Route, readInfoFd, sandboxArgs, startRelay, volumeMounts } from "./sandbox";

/** What each upstream image (docker/Dockerfile.<service>) provides beside the binary. */
export const AMALGAM8_IMAGES: Record<Amalgam8Service, { repository: string; tag: string; workdir: string; defaultApiPort: number }> = {
    controller: { repository: "amalgam8/a8-controller", tag: "1.1.0", workdir: "/opt/a8controller", defaultApiPort: 8080 },
    registry: { repository: "amalgam8/a8-registry", tag: "1.1.0", workdir: "/opt/a8registry", defaultApiPort: 8080 },
};

/** Which service an image runs (any registry prefix), or undefined for another image. */
export function amalgam8ServiceOfImage(image: string | undefined): Amalgam8Service | undefined {
    const repo = image?.replace(/[:@].*$/, "");
    return (Object.keys(AMALGAM8_IMAGES) as Amalgam8Service[]).find(
        (s) => repo === AMALGAM8_IMAGES[s].repository || repo?.endsWith(`/${AMALGAM8_IMAGES[s].repository}`),
    );
}

export interface Amalgam8Spec {
    readonly service: Amalgam8Service;
    /** The rendered container (Deployment .spec.template.spec.containers[i]). */
    readonly container: IContainer;
    /** The rendered pod spec it belongs to (volumes, pod security context). */
    readonly pod: IPodSpec;
    readonly variant?: Amalgam8Variant;
    /** The loopback endpoint standing for a Service DNS name and port; undefined when no Service of the stack has them. */
    readonly addressFor: AddressFor;
    /** The value of `key` in the rendered Secret `name`; undefined when the stack renders no such Secret or key. */
    readonly secretValue: SecretValue;
    /** Shown in process names, logs and the temp dir name. */
    readonly label?: string;
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

/**
 * Starts the service and returns once its process runs (not yet Ready: call waitReady()).
 * Throws a SpecError naming the field when the spec could not start in a cluster either.
 */
export async function startAmalgam8(spec: Amalgam8Spec): Promise<Amalgam8Instance> {
    const variant = spec.variant ?? "upstream";
    requirePrerequisites([...CONFINEMENT_PREREQUISITES, ...amalgam8Prerequisites(variant)], "Running the Amalgam8 services on loopback");
    const image = AMALGAM8_IMAGES[spec.service];
    const { container, pod } = spec;
    const label = spec.label ?? spec.service;
    const expectedImage = `${image.repository}:${image.tag}`;
    if (typeof container.image !== "string" || !(container.image === expectedImage || container.image.endsWith(`/${expectedImage}`))) {
        throw new SpecError(
            `container ${container.name}: image ${String(container.image)} is not ${expectedImage}, the release built here`,
        );
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
    const layout = { workdir: image.workdir, entrypoint: path.posix.join(image.workdir, AMALGAM8_BINARY[spec.service]) };
    const bwrapArgs = sandboxArgs(layout, amalgam8ServiceDir(variant, spec.service), confinement, mounts, container);

    const outside: Route[] = [
        ...[...hostPorts].map(([podPort, hostPort]) => ({
            listen: { host: "127.0.0.1", port: hostPort },
            connect: { path: sock(`in-${podPort}`) },
        })),
        ...services.map((s, i) => ({ listen: { path: sock(`out-${i}`) }, connect: { host: s.target.host, port: s.target.port } })),
    ];
    const inside: Route[] = [
        ...[...hostPorts.keys()].map((podPort) => ({
            listen: { path: sock(`in-${podPort}`) },
            connect: { host: "127.0.0.1", port: podPort },
        })),
        ...services.map((s, i) => ({ listen: { host: s.inPod.host, port: s.inPod.port }, connect: { path: sock(`out-${i}`) } })),
    ];

    let hostRelay: ManagedProcess | undefined;
    let sandbox: ManagedProcess | undefined;
    let podRelay: ManagedProcess | undefined;
    let servicePid = 0;
    let stopped = false;

    const startService = async (): Promise<void> => {
        const started = launch(`${label}/service`, "bwrap", bwrapArgs, {
            env: { ...env },
            logFile: logFile("service"),
            extraStdio: ["pipe"],
        });
        sandbox = started.process;
        const podInit = await readInfoFd(started.child, 10000);
        // bwrap's reaper is pid 1 of the pod's pid namespace; setpriv, exec'ing the service, is its child.
        servicePid = await waitFor(
            `${label}: the service process`,
            5000,
            async () => {
                if (!sandbox?.running) throw new WaitAborted(`${label}: bwrap exited: ${tailFile(logFile("service"), 10)}`);
                const children = fs.readFileSync(`/proc/${podInit}/task/${podInit}/children`, "utf8").trim().split(/\s+/).filter(Boolean);
                return children.length > 0 ? Number(children[0]) : undefined;
            },
            10,
        );
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
    const mainPort = hostPortFor(
        (container.ports ?? []).find((p) => p.name === "http")?.containerPort ?? container.ports?.[0]?.containerPort ?? apiPort,
    );
    const probe = (kind: ProbeKind): Promise<ProbeResult> => probeOnce(container, kind, hostPortFor, servicePid);

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
                    throw new Error(
                        `${label} not Ready within ${limit} ms (${attempts} readiness probes, last: ${last.detail}):\n` +
                            tailFile(logFile("service"), 15),
                    );
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
