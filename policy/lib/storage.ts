/**
 * Where the Amalgam8 services keep their state, and what the stack's Redis looks like:
 * the stack-level facts the HA, Redis and wiring rules share.
 */
import { A8Role, A8_STORAGE, a8Container, flagValue } from "./amalgam8";
import { Container } from "./k8s";
import { EnvValue, StackModel, Workload } from "./model";
import {
    ConfDirective,
    isRedisConfKey,
    isSentinelConfKey,
    lastDirective,
    parseArgDirectives,
    parseConf,
    sentinelContainers,
    serverContainers,
} from "./redis";

export interface A8StorageView {
    workload: Workload;
    role: A8Role;
    container: Container;
    /** Lower-cased storage type; undefined when it comes from somewhere the stack cannot show. */
    type?: string;
    /** How the type was set, for messages: `A8_STORE unset`, `A8_STORE=redis`, `--store redis`. */
    typeText: string;
    memory: boolean;
    address?: EnvValue;
    password?: EnvValue;
}

function envOrFlag(c: Container, env: Map<string, EnvValue>, name: string): EnvValue | undefined {
    const flag = flagValue(c, name);
    if (flag !== undefined) {
        return { source: "literal", value: flag };
    }
    return env.get(name);
}

export function a8Storage(model: StackModel, w: Workload): A8StorageView | undefined {
    if (!w.a8Role) {
        return undefined;
    }
    const s = A8_STORAGE[w.a8Role];
    const c = a8Container(w.pod, w.a8Role);
    if (!c) {
        return undefined;
    }
    const env = model.resolveEnv(w, c);
    const t = envOrFlag(c, env, s.typeVar);
    let type: string | undefined;
    let typeText: string;
    if (t === undefined) {
        type = s.defaultType;
        typeText = `${s.typeVar} unset (defaults to ${s.defaultType})`;
    } else if (t.source === "literal" || (t.source === "configMap" && t.value !== undefined)) {
        type = (t.value ?? "").trim().toLowerCase() || s.defaultType;
        typeText = `${s.typeVar}=${t.value}`;
    } else {
        typeText = `${s.typeVar} from ${t.source}`;
    }
    // The services accept only their own spelling, but either spelling means "not shared".
    const memory = type === "memory" || type === "inmem";
    return {
        workload: w,
        role: w.a8Role,
        container: c,
        type,
        typeText,
        memory,
        address: envOrFlag(c, env, s.addressVar),
        password: envOrFlag(c, env, s.passwordVar),
    };
}

export function a8Storages(model: StackModel): A8StorageView[] {
    return model.cached("a8Storages", () => computeA8Storages(model));
}

function computeA8Storages(model: StackModel): A8StorageView[] {
    return model.workloads.map((w) => a8Storage(model, w)).filter((v): v is A8StorageView => v !== undefined);
}

export interface RedisConfigView {
    /** Directives from mounted *.conf files then command-line flags (later wins). */
    directives: ConfDirective[];
    /** Where requirepass came from, if anywhere. */
    requirepassFrom?: { kind: "file"; key: string; fromSecret: boolean; owner: string } | { kind: "args"; value: string };
}

/** Redis server configuration of a data-node workload. */
export function redisServerConfig(model: StackModel, w: Workload): RedisConfigView {
    const directives: ConfDirective[] = [];
    let requirepassFrom: RedisConfigView["requirepassFrom"];
    for (const f of model.mountedFiles(w)) {
        if (!isRedisConfKey(f.key)) {
            continue;
        }
        const ds = parseConf(f.text);
        if (lastDirective(ds, "requirepass")) {
            requirepassFrom = { kind: "file", key: f.key, fromSecret: f.fromSecret, owner: f.owner.ref };
        }
        directives.push(...ds);
    }
    for (const c of serverContainers(w.pod)) {
        const ds = parseArgDirectives(c);
        const rp = lastDirective(ds, "requirepass");
        if (rp) {
            requirepassFrom = { kind: "args", value: rp.args.join(" ") };
        }
        directives.push(...ds);
    }
    return { directives, requirepassFrom };
}

/** Sentinel configuration of a workload running Sentinel containers. */
export function sentinelConfig(model: StackModel, w: Workload): ConfDirective[] {
    const out: ConfDirective[] = [];
    for (const f of model.mountedFiles(w)) {
        if (isSentinelConfKey(f.key)) {
            out.push(...parseConf(f.text));
        }
    }
    for (const c of sentinelContainers(w.pod)) {
        out.push(...parseArgDirectives(c));
    }
    return out;
}

export interface RedisTopology {
    servers: Workload[];
    sentinels: Workload[];
    proxies: Workload[];
    /** Redis data nodes: replicas of every server workload. */
    nodes: number;
    /** Sentinel processes: Sentinel containers times replicas. */
    sentinelCount: number;
}

/** Every Redis workload of the input, whatever its namespace. */
export function redisTopology(model: StackModel): RedisTopology {
    return model.cached("redisTopology", () => computeRedisTopology(model.workloads));
}

/** The Redis of one namespace: an input with several releases in several namespaces has several. */
export function redisTopologyIn(model: StackModel, namespace: string): RedisTopology {
    return model.cached(`redisTopology/${namespace}`, () => computeRedisTopology(model.workloadsIn(namespace)));
}

/** One topology per namespace that runs Redis data nodes. */
export function redisTopologies(model: StackModel): RedisTopology[] {
    return [...new Set(redisTopology(model).servers.map((w) => w.namespace))].map((ns) => redisTopologyIn(model, ns));
}

function computeRedisTopology(workloads: Workload[]): RedisTopology {
    const servers = workloads.filter((w) => w.redisRole === "server");
    const sentinels = workloads.filter((w) => sentinelContainers(w.pod).length > 0);
    const proxies = workloads.filter((w) => w.redisRole === "proxy");
    return {
        servers,
        sentinels,
        proxies,
        nodes: servers.reduce((n, w) => n + w.replicas, 0),
        sentinelCount: sentinels.reduce((n, w) => n + sentinelContainers(w.pod).length * w.replicas, 0),
    };
}

/** Pod labels as a YAML-ish inline map for messages. */
export function showLabels(labels: Record<string, string>): string {
    const e = Object.entries(labels);
    return e.length === 0 ? "{}" : `{${e.map(([k, v]) => `${k}: ${v}`).join(", ")}}`;
}
