/**
 * A rendered stack on loopback: the Redis it renders (standalone node from its rendered files, the
 * HA cluster from the same generator, or a plain password-protected redis-server standing for an
 * external endpoint) and the real controller and registry started from the rendered Deployments
 * (harness/loopback/amalgam8.ts). Everything is derived from the rendered objects and outputs; each
 * stand-in is listed in `substitutions`.
 */
import * as fs from "fs";
import * as path from "path";
import type { IContainer } from "kubernetes-models/v1/Container";
import type { IPodSpec } from "kubernetes-models/v1/PodSpec";
import { KUBERNETES_PATHS, REDIS_HA_FILES, RedisHaPaths, SCRIPT_ENV } from "../../components/redis/haConfig";
import type { K8sObject } from "../../policy/lib/k8s";
import { Amalgam8Instance, amalgam8ServiceOfImage, startAmalgam8 } from "./amalgam8";
import {
    Endpoint,
    ManagedProcess,
    WaitAborted,
    freePorts,
    launch,
    makeTempDir,
    removeTempDir,
    sleep,
    tailFile,
    waitFor,
} from "../../cli/process";
import { Amalgam8Service, Amalgam8Variant, PREREQUISITES, requirePrerequisites } from "./prerequisites";
import { command } from "./redisClient";
import { RedisHaCluster, podShell } from "./redisCluster";
import type { JourneyTarget } from "../../cli/smoke/journey";

export interface RenderedStack {
    readonly objects: readonly K8sObject[];
    readonly outputs: Readonly<Record<string, { readonly value: unknown }>>;
}

export type RedisMode = "standalone" | "ha" | "external";

export interface LoopbackRedis {
    readonly mode: RedisMode;
    readonly endpoint: Endpoint;
    readonly password: string;
    readonly substitutions: readonly string[];
    /** The HA cluster behind `endpoint` (ha only), for fault injection. */
    readonly cluster?: RedisHaCluster;
    /** SIGKILL and start again on the same data and port (standalone and external only). */
    restart(): Promise<void>;
    stop(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Looking things up in the rendered objects

function matches(selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
    return selector !== undefined && Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}

function workloadsOf(stack: RenderedStack): K8sObject[] {
    return stack.objects.filter((o) => o.kind === "Deployment" || o.kind === "StatefulSet");
}

/** The value of `key` in the rendered Secret `name` (stringData or base64 data). */
function renderedSecretValue(stack: RenderedStack, name: string, key: string): string | undefined {
    const s = stack.objects.find((o) => o.kind === "Secret" && o.metadata?.name === name);
    if (!s) return undefined;
    if (typeof s.stringData?.[key] === "string") return s.stringData[key];
    if (typeof s.data?.[key] === "string") return Buffer.from(s.data[key], "base64").toString("utf8");
    return undefined;
}

function output(stack: RenderedStack, name: string): unknown {
    return stack.outputs[name]?.value;
}

function splitHostPort(address: string, what: string): { host: string; port: number } {
    const m = /^([^:/]+):(\d+)$/.exec(address);
    if (!m) throw new Error(`${what} "${address}" is not host:port`);
    return { host: m[1], port: Number(m[2]) };
}

/** The Service a cluster DNS name means: `svc`, `svc.ns`, `svc.ns.svc`, `svc.ns.svc.cluster.local`. */
function serviceOfHost(stack: RenderedStack, host: string): K8sObject | undefined {
    return stack.objects.find((o) => {
        if (o.kind !== "Service") return false;
        const name = o.metadata?.name;
        const ns = o.metadata?.namespace ?? "default";
        return [name, `${name}.${ns}`, `${name}.${ns}.svc`, `${name}.${ns}.svc.cluster.local`].includes(host);
    });
}

function workloadOfService(stack: RenderedStack, service: K8sObject): K8sObject | undefined {
    return workloadsOf(stack).find((w) => matches(service.spec?.selector, w.spec?.template?.metadata?.labels));
}

function configMapFiles(stack: RenderedStack, pod: IPodSpec): Record<string, string> | undefined {
    for (const v of pod.volumes ?? []) {
        const cm = v.configMap && stack.objects.find((o) => o.kind === "ConfigMap" && o.metadata?.name === v.configMap?.name);
        if (cm?.data) return cm.data;
    }
    return undefined;
}

function redisModeOf(stack: RenderedStack): { mode: RedisMode; address: { host: string; port: number }; workload?: K8sObject } {
    const address = splitHostPort(String(output(stack, "redisAddress")), "the redisAddress output");
    const service = serviceOfHost(stack, address.host);
    if (!service) return { mode: "external", address };
    const workload = workloadOfService(stack, service);
    if (!workload) throw new Error(`Service ${service.metadata?.name} (the redisAddress output) selects no rendered workload`);
    if (workload.kind === "StatefulSet" && configMapFiles(stack, workload.spec.template.spec)?.[REDIS_HA_FILES.startRedis] !== undefined) {
        return { mode: "standalone", address, workload };
    }
    return { mode: "ha", address, workload };
}

// ---------------------------------------------------------------------------------------------
// Redis

async function waitPing(ep: Endpoint, password: string, proc: ManagedProcess, log: string, timeoutMs = 15000): Promise<void> {
    await waitFor(`redis on ${ep.port} to answer PING`, timeoutMs, async () => {
        if (!proc.running) throw new WaitAborted(`redis-server exited: ${tailFile(log, 10)}`);
        return (await command(ep, password, ["PING"], 500)) === "PONG";
    });
}

/**
 * The standalone node from its rendered files: init.sh writes the runtime redis.conf from the
 * rendered template (as start-redis.sh does in the pod), then redis-server runs it with the port
 * and bind address overridden on its command line. The pod's mount points become temp dirs.
 */
async function startStandalone(stack: RenderedStack, statefulSet: K8sObject): Promise<LoopbackRedis> {
    const pod: IPodSpec = statefulSet.spec.template.spec;
    const container: IContainer = pod.containers[0];
    const dir = makeTempDir("a8-redis-standalone");
    const [port] = await freePorts(1);
    const mounts = new Map<string, string>();
    let password: string | undefined;
    for (const m of container.volumeMounts ?? []) {
        const host = path.join(dir, "volumes", m.name);
        fs.mkdirSync(host, { recursive: true });
        mounts.set(m.mountPath, host);
        const v = (pod.volumes ?? []).find((x) => x.name === m.name);
        if (v?.configMap) {
            for (const [file, text] of Object.entries(configMapFiles(stack, pod) ?? {}))
                fs.writeFileSync(path.join(host, file), text, { mode: 0o555 });
        } else if (v?.secret) {
            for (const item of v.secret.items ?? []) {
                const value = renderedSecretValue(stack, String(v.secret.secretName), item.key);
                if (value === undefined) throw new Error(`Redis volume ${m.name}: Secret ${v.secret.secretName} has no key ${item.key}`);
                fs.writeFileSync(path.join(host, item.path), value, { mode: 0o400 });
                password = value;
            }
        }
    }
    if (password === undefined) throw new Error(`StatefulSet ${statefulSet.metadata?.name}: no Secret volume holds the Redis password`);
    const hostPath = (podPath: string): string => {
        const mount = [...mounts.keys()].filter((m) => podPath === m || podPath.startsWith(`${m}/`)).sort((a, b) => b.length - a.length)[0];
        if (mount === undefined) throw new Error(`StatefulSet ${statefulSet.metadata?.name}: nothing is mounted at ${podPath}`);
        return path.join(mounts.get(mount) as string, podPath.slice(mount.length));
    };
    const paths = Object.fromEntries(Object.entries(KUBERNETES_PATHS).map(([k, p]) => [k, hostPath(p)])) as unknown as RedisHaPaths;
    const env = {
        PATH: process.env.PATH ?? "",
        HOSTNAME: `${statefulSet.metadata?.name}-0`,
        [SCRIPT_ENV.templateDir]: paths.templateDir,
        [SCRIPT_ENV.configDir]: paths.configDir,
        [SCRIPT_ENV.dataDir]: paths.dataDir,
        [SCRIPT_ENV.passwordFile]: paths.passwordFile,
    };
    const substitutions = [
        `redis (standalone): the rendered ${REDIS_HA_FILES.redisConf} via init.sh, ` +
            `with --port ${port} --bind 127.0.0.1 on the command line (its own port and all interfaces in the pod)`,
        `redis (standalone): ${[...mounts.keys()].join(", ")} mounted from temp dirs (ConfigMap files, Secret items, the data volume)`,
    ];
    return startOneNode({ mode: "standalone", dir, port, password, substitutions }, async (log) => {
        const init = launch("redis-standalone/init", ...podShell(path.join(paths.templateDir, REDIS_HA_FILES.init), "redis"), {
            env,
            logFile: log,
        }).process;
        if (!(await init.waitExit(15000)) || (await init.exited) !== 0)
            throw new Error(`init.sh of the standalone node failed: ${tailFile(log, 10)}`);
        return launch(
            "redis-standalone",
            "redis-server",
            [path.join(paths.configDir, REDIS_HA_FILES.redisConf), "--port", String(port), "--bind", "127.0.0.1"],
            { env, logFile: log },
        ).process;
    });
}

async function startExternal(password: string): Promise<LoopbackRedis> {
    const dir = makeTempDir("a8-redis-external");
    const [port] = await freePorts(1);
    const substitutions = [
        `redis (external): a plain redis-server on 127.0.0.1:${port} with the stack's redisPassword stands for the managed endpoint`,
    ];
    return startOneNode({ mode: "external", dir, port, password, substitutions }, async (log) => {
        // In a 0600 file, not on the command line where ps would show it.
        fs.writeFileSync(
            path.join(dir, "redis.conf"),
            `port ${port}\nbind 127.0.0.1\ndir "${dir}"\nrequirepass "${password}"\nappendonly yes\nsave ""\n`,
            { mode: 0o600 },
        );
        return launch("redis-external", "redis-server", [path.join(dir, "redis.conf")], {
            env: { PATH: process.env.PATH ?? "" },
            logFile: log,
        }).process;
    });
}

/**
 * One redis-server on 127.0.0.1:port that `launchNode` starts (again on restart), its files in
 * `dir`: started and answering PING, or stopped and its dir removed before the error is thrown.
 */
async function startOneNode(
    node: { mode: "standalone" | "external"; dir: string; port: number; password: string; substitutions: string[] },
    launchNode: (logFile: string) => Promise<ManagedProcess>,
): Promise<LoopbackRedis> {
    const log = path.join(node.dir, "redis.log");
    const endpoint = { host: "127.0.0.1", port: node.port };
    let proc: ManagedProcess | undefined;
    const start = async (): Promise<void> => {
        proc = await launchNode(log);
        await waitPing(endpoint, node.password, proc, log);
    };
    try {
        await start();
    } catch (e) {
        await proc?.stop(1000);
        removeTempDir(node.dir);
        throw e;
    }
    return {
        mode: node.mode,
        endpoint,
        password: node.password,
        substitutions: node.substitutions,
        async restart() {
            // appendfsync everysec: what was acknowledged more than a second ago must survive a crash.
            await sleep(1100);
            proc?.signal("SIGKILL");
            await proc?.waitExit(5000);
            await start();
        },
        async stop() {
            await proc?.stop(5000);
            removeTempDir(node.dir);
        },
    };
}

/** The HA Redis the stack renders: its node count and the password its Secret holds. */
export function renderedRedisHa(stack: RenderedStack): { nodeCount: number; password: string } {
    // The data nodes are the StatefulSet whose files include Sentinel's start script.
    const nodes = workloadsOf(stack).find(
        (w) => w.kind === "StatefulSet" && configMapFiles(stack, w.spec.template.spec)?.[REDIS_HA_FILES.startSentinel] !== undefined,
    );
    if (!nodes) throw new Error("Redis HA: no rendered StatefulSet runs Sentinel");
    const secretVolume = (nodes.spec.template.spec as IPodSpec).volumes?.find((v) => v.secret);
    const item = secretVolume?.secret?.items?.[0];
    const password =
        secretVolume?.secret && item ? renderedSecretValue(stack, String(secretVolume.secret.secretName), item.key) : undefined;
    if (password === undefined) throw new Error(`Redis HA: StatefulSet ${nodes.metadata?.name} mounts no Secret holding the password`);
    return { nodeCount: nodes.spec.replicas ?? 1, password };
}

/** Starts the Redis the stack renders; see the file comment. */
async function startRenderedRedis(stack: RenderedStack): Promise<LoopbackRedis> {
    const { mode, workload } = redisModeOf(stack);
    requirePrerequisites([PREREQUISITES.redisServer, PREREQUISITES.redisCli], `The loopback Redis (${mode})`);
    if (mode === "external") {
        const password = output(stack, "redisPassword");
        if (typeof password !== "string") throw new Error("external Redis: the stack exports no redisPassword");
        return startExternal(password);
    }
    if (mode === "standalone") return startStandalone(stack, workload as K8sObject);
    const { nodeCount, password } = renderedRedisHa(stack);
    const cluster = await RedisHaCluster.start({ label: "a8-redis-ha", nodeCount, password });
    return {
        mode: "ha",
        endpoint: cluster.haproxyEndpoint,
        cluster,
        password,
        substitutions: [
            `redis (ha): ${cluster.nodeCount} redis-server + Sentinels + HAProxy from the same generator on loopback ports ` +
                `(harness/loopback/redisCluster.ts); HAProxy on 127.0.0.1:${cluster.haproxyEndpoint.port}`,
        ],
        async restart() {
            throw new Error("the HA cluster restarts nodes through its failover tests, not here");
        },
        stop: () => cluster.stop(),
    };
}

// ---------------------------------------------------------------------------------------------
// The control plane

export interface ControlPlaneOptions {
    readonly variant?: Amalgam8Variant;
    /** Replicas started per service at most (default 2: enough to see one replica's write from another). */
    readonly maxReplicas?: number;
}

export interface LoopbackControlPlane {
    readonly redis: LoopbackRedis;
    readonly controllers: readonly Amalgam8Instance[];
    readonly registries: readonly Amalgam8Instance[];
    /** Rendered replicas per service (started: the instances above). */
    readonly renderedReplicas: Readonly<Record<Amalgam8Service, number>>;
    /** The exported sidecar URLs and admin token, mapped to loopback. */
    readonly target: JourneyTarget;
    /** Every stand-in, one line each. */
    substitutions(): string[];
    /** Waits for every instance's readiness probe (in parallel). */
    waitReady(): Promise<void>;
    stop(): Promise<void>;
}

function amalgam8Deployment(stack: RenderedStack, service: Amalgam8Service): { deployment: K8sObject; index: number } {
    for (const d of stack.objects.filter((o) => o.kind === "Deployment")) {
        const index = (d.spec?.template?.spec?.containers ?? []).findIndex((c: IContainer) => amalgam8ServiceOfImage(c.image) === service);
        if (index >= 0) return { deployment: d, index };
    }
    throw new Error(`no rendered Deployment runs the ${service} image`);
}

function replicasOf(stack: RenderedStack, deployment: K8sObject): number {
    if (typeof deployment.spec?.replicas === "number") return deployment.spec.replicas;
    const hpa = stack.objects.find(
        (o) => o.kind === "HorizontalPodAutoscaler" && o.spec?.scaleTargetRef?.name === deployment.metadata?.name,
    );
    return hpa?.spec?.minReplicas ?? 1;
}

/** Starts Redis, then every service replica (up to maxReplicas), all from the rendered stack. */
export async function startRenderedControlPlane(stack: RenderedStack, options: ControlPlaneOptions = {}): Promise<LoopbackControlPlane> {
    const maxReplicas = options.maxReplicas ?? 2;
    const redis = await startRenderedRedis(stack);
    const redisAddress = splitHostPort(String(output(stack, "redisAddress")), "the redisAddress output");
    const instances: Record<Amalgam8Service, Amalgam8Instance[]> = { controller: [], registry: [] };
    const renderedReplicas = { controller: 0, registry: 0 };
    const deployments = {
        controller: amalgam8Deployment(stack, "controller"),
        registry: amalgam8Deployment(stack, "registry"),
    };

    /** A Service's port -> the loopback endpoint of what it selects (replica 0 for a Deployment). */
    const addressFor = (host: string, port: number): Endpoint | undefined => {
        if (host === redisAddress.host && port === redisAddress.port) return redis.endpoint;
        const svc = serviceOfHost(stack, host);
        const svcPort = svc?.spec?.ports?.find((p: { port: number }) => p.port === port);
        if (!svc || !svcPort) return undefined;
        for (const service of ["controller", "registry"] as const) {
            const d = deployments[service].deployment;
            if (matches(svc.spec?.selector, d.spec?.template?.metadata?.labels) && instances[service][0]) {
                return { host: "127.0.0.1", port: instances[service][0].hostPortFor(svcPort.targetPort ?? port) };
            }
        }
        return undefined;
    };
    const secretValue = (name: string, key: string): string | undefined => renderedSecretValue(stack, name, key);

    const started: Amalgam8Instance[] = [];
    try {
        await Promise.all(
            (["controller", "registry"] as const).flatMap((service) => {
                const { deployment, index } = deployments[service];
                renderedReplicas[service] = replicasOf(stack, deployment);
                const count = Math.min(renderedReplicas[service], maxReplicas);
                return Array.from({ length: count }, async (_, i) => {
                    const pod: IPodSpec = structuredClone(deployment.spec.template.spec);
                    const container = pod.containers[index];
                    const inst = await startAmalgam8({
                        service,
                        container,
                        pod,
                        variant: options.variant,
                        addressFor,
                        secretValue,
                        label: `${service}-${i}`,
                    });
                    started.push(inst);
                    instances[service][i] = inst;
                });
            }),
        );
    } catch (e) {
        await Promise.allSettled([...started.map((s) => s.stop()), redis.stop()]);
        throw e;
    }

    const sidecarEnv = (output(stack, "sidecarEnv") ?? {}) as Record<string, string>;
    const loopbackUrl = (name: string, url: string | undefined): string => {
        if (url === undefined) throw new Error(`the stack exports no ${name}`);
        const u = new URL(url);
        const ep = addressFor(u.hostname, Number(u.port || (u.protocol === "https:" ? 443 : 80)));
        if (!ep) throw new Error(`${name} ${url} reaches no rendered Service port of a started service`);
        return `${u.protocol}//${ep.host}:${ep.port}${u.pathname.replace(/\/$/, "")}`;
    };
    const servicePortOf = (url: string | undefined): number | string => {
        const u = new URL(url as string);
        const svc = serviceOfHost(stack, u.hostname);
        return svc?.spec?.ports?.find((p: { port: number }) => p.port === Number(u.port))?.targetPort ?? Number(u.port);
    };
    const token = output(stack, "adminToken");
    const target: JourneyTarget = {
        controllerUrl: loopbackUrl("sidecarEnv.A8_CONTROLLER_URL", sidecarEnv.A8_CONTROLLER_URL),
        registryUrl: loopbackUrl("sidecarEnv.A8_REGISTRY_URL", sidecarEnv.A8_REGISTRY_URL),
        ...(typeof token === "string" ? { token } : {}),
        peerControllerUrls: instances.controller
            .slice(1)
            .map((i) => `http://127.0.0.1:${i.hostPortFor(servicePortOf(sidecarEnv.A8_CONTROLLER_URL))}`),
        peerRegistryUrls: instances.registry
            .slice(1)
            .map((i) => `http://127.0.0.1:${i.hostPortFor(servicePortOf(sidecarEnv.A8_REGISTRY_URL))}`),
    };

    return {
        redis,
        controllers: instances.controller,
        registries: instances.registry,
        renderedReplicas,
        target,
        substitutions: () => [
            ...redis.substitutions,
            ...new Set(
                [...instances.controller, ...instances.registry].flatMap((inst) =>
                    inst.substitutions.map((s) => `${inst.service}: ${s.env}: ${s.rendered} -> ${s.used} (${s.why})`),
                ),
            ),
            `sidecar URLs: ${sidecarEnv.A8_CONTROLLER_URL} -> ${target.controllerUrl}, ` +
                `${sidecarEnv.A8_REGISTRY_URL} -> ${target.registryUrl} (Service port -> targetPort of replica 0)`,
        ],
        async waitReady() {
            await Promise.all(started.map((s) => s.waitReady()));
        },
        async stop() {
            const r = await Promise.allSettled([...started.map((s) => s.stop())]);
            r.push(...(await Promise.allSettled([redis.stop()])));
            const failed = r.filter((x): x is PromiseRejectedResult => x.status === "rejected");
            if (failed.length > 0) throw new Error(failed.map((f) => String(f.reason)).join("; "));
        },
    };
}

/**
 * One replica of a rendered service whose Redis is `redis` (an HAProxy of a partition lab, say)
 * instead of the Redis the stack renders; any other Service it names must be unused.
 */
export async function startRenderedService(
    stack: RenderedStack,
    service: Amalgam8Service,
    redis: Endpoint,
    options: { readonly variant?: Amalgam8Variant; readonly label?: string } = {},
): Promise<Amalgam8Instance> {
    const redisAddress = splitHostPort(String(output(stack, "redisAddress")), "the redisAddress output");
    const { deployment, index } = amalgam8Deployment(stack, service);
    const pod: IPodSpec = structuredClone(deployment.spec.template.spec);
    return startAmalgam8({
        service,
        container: pod.containers[index],
        pod,
        variant: options.variant,
        addressFor: (host, port) => (host === redisAddress.host && port === redisAddress.port ? redis : undefined),
        secretValue: (name, key) => renderedSecretValue(stack, name, key),
        label: options.label ?? service,
    });
}
