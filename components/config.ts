/**
 * Stack configuration: the typed settings of one environment, their defaults, and the validation
 * that runs before any resource is registered. Pure: no Pulumi runtime, no I/O.
 */

export const PROJECT = "a8-control-plane";

export const STORAGE_TYPES = ["redis", "memory"] as const;
export const SERVICE_TYPES = ["ClusterIP", "NodePort", "LoadBalancer"] as const;
export const AUTH_MODES = ["none", "jwt"] as const;
export const REDIS_MODES = ["standalone", "ha", "external"] as const;
/** The levels both services accept; anything else is fatal at their start. */
export const LOG_LEVELS = ["debug", "info", "warn", "error", "fatal", "panic"] as const;

export type StorageType = (typeof STORAGE_TYPES)[number];
export type ServiceType = (typeof SERVICE_TYPES)[number];
export type AuthMode = (typeof AUTH_MODES)[number];
export type RedisMode = (typeof REDIS_MODES)[number];
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface ResourceSettings {
    readonly requests: { readonly cpu: string; readonly memory: string };
    readonly limits: { readonly cpu?: string; readonly memory: string };
}

export interface AutoscalingSettings {
    readonly minReplicas: number;
    readonly maxReplicas: number;
    readonly targetCpuUtilization: number;
}

/** Settings shared by the two Amalgam8 services (controller and registry). */
export interface ApiServiceSettings {
    readonly replicas: number;
    readonly port: number;
    readonly nodePort: number;
    readonly image: string;
    readonly logLevel: LogLevel;
    readonly resources: ResourceSettings;
    readonly autoscaling?: AutoscalingSettings;
}

export interface SentinelSettings {
    readonly downAfterMilliseconds: number;
    readonly failoverTimeout: number;
}

export interface HaproxySettings {
    readonly replicas: number;
    readonly image: string;
    readonly resources: ResourceSettings;
}

export interface RedisSettings {
    readonly mode: RedisMode;
    readonly image: string;
    readonly storageSize: string;
    readonly storageClass?: string;
    readonly resources: ResourceSettings;
    /** `ha` only: Redis nodes, each with a Sentinel. */
    readonly nodes: number;
    readonly sentinel: SentinelSettings;
    readonly haproxy: HaproxySettings;
    /** `external` only: `host:port` of a managed Redis primary endpoint. */
    readonly address?: string;
}

export interface ControlPlaneSettings {
    readonly namespace: string;
    readonly createNamespace: boolean;
    readonly storage: StorageType;
    readonly serviceType: ServiceType;
    readonly auth: AuthMode;
    readonly spreadAcrossZones: boolean;
    readonly controller: ApiServiceSettings;
    readonly registry: ApiServiceSettings;
    readonly redis: RedisSettings;
}

/** Config keys whose values must be set with `pulumi config set --secret`. */
export const SECRET_KEYS = ["jwtSecret", "redisPassword"] as const;

const apiServiceResources: ResourceSettings = {
    requests: { cpu: "100m", memory: "64Mi" },
    limits: { cpu: "500m", memory: "256Mi" },
};

/**
 * The highly available deployment this project exists for: an unconfigured stack (or a library
 * user passing no arguments) passes the strictest policy config. Small set-ups opt out explicitly.
 */
export const DEFAULTS: ControlPlaneSettings = {
    namespace: "amalgam8",
    createNamespace: true,
    storage: "redis",
    serviceType: "ClusterIP",
    auth: "none",
    spreadAcrossZones: false,
    controller: {
        replicas: 3,
        port: 6080,
        nodePort: 31200,
        image: "amalgam8/a8-controller:1.1.0",
        logLevel: "info",
        resources: apiServiceResources,
    },
    registry: {
        replicas: 3,
        port: 5080,
        nodePort: 31300,
        image: "amalgam8/a8-registry:1.1.0",
        logLevel: "info",
        resources: apiServiceResources,
    },
    redis: {
        mode: "ha",
        image: "redis:7.2.5-alpine",
        storageSize: "1Gi",
        resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { memory: "512Mi" } },
        nodes: 3,
        sentinel: { downAfterMilliseconds: 2000, failoverTimeout: 5000 },
        haproxy: {
            replicas: 3,
            image: "haproxy:2.6.17-alpine",
            resources: { requests: { cpu: "50m", memory: "32Mi" }, limits: { memory: "128Mi" } },
        },
    },
};

/**
 * What a library user passes for a group of settings: any subset, at any depth; what is left out
 * takes its default.
 */
export type PartialSettings<T> = { readonly [K in keyof T]?: T[K] extends object ? PartialSettings<T[K]> : T[K] };

/** Namespaces a stack's config keys may use besides the project's: the provider the program uses, and Pulumi's own. */
export const OTHER_CONFIG_NAMESPACES = ["kubernetes", "pulumi"] as const;

/** Every invalid value found, each message naming the full config key. */
export class ConfigError extends Error {
    constructor(readonly problems: string[]) {
        super(problems.join("\n"));
        this.name = "ConfigError";
    }
}

type Json = unknown;
type Obj = Record<string, Json>;

/** How the settings reach the program: stack config keys, or a library user's arguments. */
interface Source {
    /** The name of a setting in messages: `a8-control-plane:controller.replicas` or `controller.replicas`. */
    key(path: string): string;
    /** How to give a setting a value, e.g. `pulumi config set --path controller.replicas 1`. */
    howToSet(path: string, value: string): string;
}

const STACK_CONFIG: Source = {
    key: (path) => `${PROJECT}:${path}`,
    howToSet: (path, value) => `pulumi config set --path ${path} ${value}`,
};

const LIBRARY_ARGS: Source = {
    key: (path) => path,
    howToSet: (path, value) => `${path}: ${value}`,
};

/** Walks the raw config, recording problems instead of stopping at the first one. */
class Reader {
    readonly problems: string[] = [];

    constructor(readonly source: Source) {}

    key(path: string): string {
        return this.source.key(path);
    }

    fail(path: string, value: Json, allowed: string): undefined {
        this.problems.push(`${this.key(path)}: ${show(value)} ${allowed}`);
        return undefined;
    }

    object(path: string, value: Json, known: readonly string[]): Obj | undefined {
        if (value === undefined) return {};
        if (typeof value !== "object" || value === null || Array.isArray(value)) {
            return this.fail(path, value, "is not an object");
        }
        for (const k of Object.keys(value)) {
            if (!known.includes(k)) {
                this.problems.push(`${this.key(`${path}.${k}`)}: unknown key (allowed in ${path}: ${known.join(", ")})`);
            }
        }
        return value as Obj;
    }

    enumeration<T extends string>(path: string, value: Json, allowed: readonly T[], fallback: T): T {
        if (value === undefined) return fallback;
        if (typeof value === "string" && (allowed as readonly string[]).includes(value)) return value as T;
        this.fail(path, value, `is not one of ${allowed.join(", ")}`);
        return fallback;
    }

    integer(path: string, value: Json, fallback: number, min: number, max: number, range?: string): number {
        if (value === undefined) return fallback;
        const n = typeof value === "string" && /^-?\d+$/.test(value.trim()) ? Number(value) : value;
        if (typeof n !== "number" || !Number.isInteger(n)) {
            this.fail(path, value, `is not an integer (allowed: ${range ?? `${min}-${max}`})`);
            return fallback;
        }
        if (n < min || n > max) {
            this.fail(path, value, range ? `is outside ${range}` : `is outside ${min}-${max}`);
            return fallback;
        }
        return n;
    }

    boolean(path: string, value: Json, fallback: boolean): boolean {
        if (value === undefined) return fallback;
        if (value === true || value === "true") return true;
        if (value === false || value === "false") return false;
        this.fail(path, value, "is not a boolean (allowed: true, false)");
        return fallback;
    }

    string(path: string, value: Json, fallback: string, pattern: RegExp, allowed: string): string {
        if (value === undefined) return fallback;
        if (typeof value === "string" && pattern.test(value)) return value;
        this.fail(path, value, allowed);
        return fallback;
    }

    optionalString(path: string, value: Json, pattern: RegExp, allowed: string): string | undefined {
        if (value === undefined) return undefined;
        if (typeof value === "string" && pattern.test(value)) return value;
        return this.fail(path, value, allowed);
    }
}

function show(value: Json): string {
    return JSON.stringify(value) ?? String(value);
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const QUANTITY = /^[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/;
const HOST_PORT = /^[A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?:[0-9]{1,5}$/;

/**
 * An image reference must name an explicit tag other than `latest`, or a digest: an untagged image
 * is `latest`, which changes under a running deployment.
 */
export function imageProblem(image: string): string | undefined {
    if (!/^[A-Za-z0-9][A-Za-z0-9._\-/:@]*$/.test(image)) return "is not an image reference";
    if (/@sha256:[a-f0-9]{64}$/.test(image)) return undefined;
    const lastSlash = image.lastIndexOf("/");
    const colon = image.indexOf(":", lastSlash + 1);
    if (colon < 0) return "has no tag (pin a version, e.g. name:1.2.3)";
    const tag = image.slice(colon + 1);
    if (tag === "latest") return "is tagged latest (pin a version, e.g. name:1.2.3)";
    if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(tag)) return "has an invalid tag";
    return undefined;
}

/** Parses `host:port`; undefined when malformed. */
export function parseHostPort(address: string): { host: string; port: number } | undefined {
    if (!HOST_PORT.test(address)) return undefined;
    const i = address.lastIndexOf(":");
    const port = Number(address.slice(i + 1));
    if (port < 1 || port > 65535) return undefined;
    return { host: address.slice(0, i), port };
}

function readImage(r: Reader, path: string, value: Json, fallback: string): string {
    if (value === undefined) return fallback;
    if (typeof value !== "string") return r.fail(path, value, "is not a string (an image reference name:tag)") ?? fallback;
    const problem = imageProblem(value);
    if (problem) r.fail(path, value, problem);
    return value;
}

function readResources(r: Reader, path: string, value: Json, fallback: ResourceSettings): ResourceSettings {
    const obj = r.object(path, value, ["requests", "limits"]);
    if (!obj) return fallback;
    const req = r.object(`${path}.requests`, obj.requests, ["cpu", "memory"]) ?? {};
    const lim = r.object(`${path}.limits`, obj.limits, ["cpu", "memory"]) ?? {};
    const q = (p: string, v: Json, f: string) => r.string(p, v, f, QUANTITY, "is not a Kubernetes quantity (e.g. 100m, 128Mi)");
    const limitCpu = lim.cpu === undefined ? fallback.limits.cpu : q(`${path}.limits.cpu`, lim.cpu, "");
    return {
        requests: {
            cpu: q(`${path}.requests.cpu`, req.cpu, fallback.requests.cpu),
            memory: q(`${path}.requests.memory`, req.memory, fallback.requests.memory),
        },
        limits: {
            ...(limitCpu ? { cpu: limitCpu } : {}),
            memory: q(`${path}.limits.memory`, lim.memory, fallback.limits.memory),
        },
    };
}

function readAutoscaling(r: Reader, path: string, value: Json): AutoscalingSettings | undefined {
    if (value === undefined || value === null || value === false) return undefined;
    const obj = r.object(path, value, ["minReplicas", "maxReplicas", "targetCpuUtilization"]);
    if (!obj) return undefined;
    const minReplicas = r.integer(`${path}.minReplicas`, obj.minReplicas, 2, 2, 1000, "2-1000 (an autoscaled service keeps at least 2 replicas)");
    const maxReplicas = r.integer(`${path}.maxReplicas`, obj.maxReplicas, Math.max(minReplicas, 2) * 3, 2, 1000);
    if (maxReplicas <= minReplicas) {
        r.fail(`${path}.maxReplicas`, maxReplicas, `must be greater than minReplicas (${minReplicas})`);
    }
    const targetCpuUtilization = r.integer(`${path}.targetCpuUtilization`, obj.targetCpuUtilization, 70, 1, 100, "1-100 (percent of the CPU request)");
    return { minReplicas, maxReplicas, targetCpuUtilization };
}

const API_SERVICE_KEYS = ["replicas", "port", "nodePort", "image", "logLevel", "resources", "autoscaling"] as const;

function readApiService(r: Reader, path: string, value: Json, fallback: ApiServiceSettings): ApiServiceSettings {
    const obj = r.object(path, value, API_SERVICE_KEYS) ?? {};
    const autoscaling = readAutoscaling(r, `${path}.autoscaling`, obj.autoscaling);
    return {
        replicas: r.integer(`${path}.replicas`, obj.replicas, fallback.replicas, 1, 1000),
        port: r.integer(`${path}.port`, obj.port, fallback.port, 1, 65535),
        nodePort: r.integer(`${path}.nodePort`, obj.nodePort, fallback.nodePort, 30000, 32767),
        image: readImage(r, `${path}.image`, obj.image, fallback.image),
        logLevel: r.enumeration(`${path}.logLevel`, obj.logLevel, LOG_LEVELS, fallback.logLevel),
        resources: readResources(r, `${path}.resources`, obj.resources, fallback.resources),
        ...(autoscaling ? { autoscaling } : {}),
    };
}

const REDIS_KEYS = ["mode", "image", "storageSize", "storageClass", "resources", "nodes", "sentinel", "haproxy", "address"] as const;

function readRedis(r: Reader, value: Json, fallback: RedisSettings): RedisSettings {
    const obj = r.object("redis", value, REDIS_KEYS) ?? {};
    const mode = r.enumeration("redis.mode", obj.mode, REDIS_MODES, fallback.mode);
    const sentinel = r.object("redis.sentinel", obj.sentinel, ["downAfterMilliseconds", "failoverTimeout"]) ?? {};
    const haproxy = r.object("redis.haproxy", obj.haproxy, ["replicas", "image", "resources"]) ?? {};
    const nodes = r.integer("redis.nodes", obj.nodes, fallback.nodes, 3, 9, "3-9 (an odd number of nodes, each with a Sentinel)");
    if (nodes % 2 === 0) r.fail("redis.nodes", nodes, "is even (Sentinel needs an odd number for a majority: 3, 5, 7 or 9)");
    const address = r.optionalString("redis.address", obj.address, HOST_PORT, "is not host:port (e.g. my-redis.example.com:6379)");
    if (address !== undefined && !parseHostPort(address)) r.fail("redis.address", address, "has a port outside 1-65535");
    if (mode === "external" && address === undefined && obj.address === undefined) {
        r.problems.push(`${r.key("redis.address")}: required when redis.mode is external (the managed Redis endpoint, host:port)`);
    }
    if (mode !== "external" && address !== undefined) {
        r.fail("redis.address", address, `is only used when redis.mode is external (mode is ${mode})`);
    }
    return {
        mode,
        image: readImage(r, "redis.image", obj.image, fallback.image),
        storageSize: r.string("redis.storageSize", obj.storageSize, fallback.storageSize, QUANTITY, "is not a Kubernetes quantity (e.g. 1Gi)"),
        ...(obj.storageClass !== undefined
            ? { storageClass: r.string("redis.storageClass", obj.storageClass, "", /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, "is not a StorageClass name") }
            : {}),
        resources: readResources(r, "redis.resources", obj.resources, fallback.resources),
        nodes,
        sentinel: {
            downAfterMilliseconds: r.integer("redis.sentinel.downAfterMilliseconds", sentinel.downAfterMilliseconds, fallback.sentinel.downAfterMilliseconds, 1000, 600000, "1000-600000 (below 2000 Sentinel fails over spuriously)"),
            failoverTimeout: r.integer("redis.sentinel.failoverTimeout", sentinel.failoverTimeout, fallback.sentinel.failoverTimeout, 1000, 3600000),
        },
        haproxy: {
            replicas: r.integer("redis.haproxy.replicas", haproxy.replicas, fallback.haproxy.replicas, 2, 100, "2-100 (the proxy in front of Redis must itself be HA)"),
            image: readImage(r, "redis.haproxy.image", haproxy.image, fallback.haproxy.image),
            resources: readResources(r, "redis.haproxy.resources", haproxy.resources, fallback.haproxy.resources),
        },
        ...(address !== undefined ? { address } : {}),
    };
}

const TOP_LEVEL_KEYS = [
    "namespace",
    "createNamespace",
    "storage",
    "serviceType",
    "auth",
    "spreadAcrossZones",
    "controller",
    "registry",
    "redis",
    ...SECRET_KEYS,
] as const;

/**
 * A config key outside the project's namespace is either a provider's the program uses, Pulumi's
 * own, or a mistake that would otherwise be ignored (a typo in the prefix deploys the defaults).
 */
export function foreignKeyProblem(fullKey: string, project: string = PROJECT): string | undefined {
    const colon = fullKey.indexOf(":");
    const namespace = colon < 0 ? "" : fullKey.slice(0, colon);
    if (namespace === project || (OTHER_CONFIG_NAMESPACES as readonly string[]).includes(namespace)) return undefined;
    const allowed = [project, ...OTHER_CONFIG_NAMESPACES].map((n) => `${n}:<key>`).join(", ");
    const key = colon < 0 ? fullKey : fullKey.slice(colon + 1);
    const guess = colon < 0 || closeTo(namespace, project) ? ` (did you mean ${project}:${key}?)` : "";
    const what = colon < 0 ? "has no namespace" : `is in namespace ${namespace}, which nothing here reads`;
    return `${fullKey}: ${what}; keys are ${allowed}${guess}`;
}

/** Top-level keys of a Pulumi stack settings file (`Pulumi.<stack>.yaml`). */
export const STACK_FILE_KEYS = ["config", "environment", "secretsprovider", "encryptedkey", "encryptionsalt"] as const;

/**
 * What is wrong with a parsed stack settings file: a key the Pulumi CLI would silently ignore (one
 * not under `config:`), or a config key of a namespace nothing reads. Each problem names the key.
 */
export function stackFileProblems(doc: unknown, project: string = PROJECT): string[] {
    if (doc === null || doc === undefined) return [];
    const isMap = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
    if (!isMap(doc)) return [`is not a mapping (expected config: with ${project}:<key> entries)`];
    const problems: string[] = [];
    for (const key of Object.keys(doc)) {
        if ((STACK_FILE_KEYS as readonly string[]).includes(key)) continue;
        problems.push(
            key.includes(":")
                ? `${key}: is not under config: (the Pulumi CLI would ignore it; indent it under config:)`
                : `${key}: unknown top-level key (allowed: ${STACK_FILE_KEYS.join(", ")})`,
        );
    }
    const config = doc.config;
    if (config !== undefined && config !== null && !isMap(config)) {
        problems.push(`config: is not a mapping of ${project}:<key> entries`);
    } else {
        for (const key of Object.keys(config ?? {})) {
            const problem = foreignKeyProblem(key, project);
            if (problem) problems.push(problem);
        }
    }
    return problems;
}

/** A typo away: at most 3 single-character edits. */
function closeTo(a: string, b: string): boolean {
    let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
        const cur = [i];
        for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
        prev = cur;
    }
    return prev[b.length] <= 3;
}

/** Config values arrive as strings; structured ones hold JSON. */
function decode(path: string, raw: string, r: Reader): Json {
    const t = raw.trim();
    if (t.startsWith("{") || t.startsWith("[")) {
        try {
            return JSON.parse(t);
        } catch {
            return r.fail(path, raw, "is not valid JSON");
        }
    }
    return raw;
}

export interface RawConfig {
    /** Full keys (`a8-control-plane:controller`) to raw string values, as `pulumi.runtime.allConfig()` gives them. */
    readonly values: Readonly<Record<string, string>>;
    /** Full keys that hold secrets. */
    readonly secretKeys?: readonly string[];
}

/**
 * Validates and completes the stack configuration. Throws a ConfigError naming every invalid key,
 * its value and what is allowed. Keys of the provider the program uses (`kubernetes:context`) and
 * Pulumi's own are left to them; keys of any other namespace are errors.
 */
export function parseSettings(raw: RawConfig): ControlPlaneSettings {
    const r = new Reader(STACK_CONFIG);
    const prefix = `${PROJECT}:`;
    const top: Obj = {};
    for (const [fullKey, value] of Object.entries(raw.values)) {
        if (!fullKey.startsWith(prefix)) {
            const problem = foreignKeyProblem(fullKey);
            if (problem) r.problems.push(problem);
            continue;
        }
        const key = fullKey.slice(prefix.length);
        if (!(TOP_LEVEL_KEYS as readonly string[]).includes(key)) {
            const parent = key.split(".")[0];
            const hint = key.includes(".") && (TOP_LEVEL_KEYS as readonly string[]).includes(parent)
                ? ` (a nested setting is set with --path: pulumi config set --path ${key} <value>)`
                : ` (allowed: ${TOP_LEVEL_KEYS.join(", ")})`;
            r.problems.push(`${fullKey}: unknown key${hint}`);
            continue;
        }
        top[key] = (SECRET_KEYS as readonly string[]).includes(key) ? value : decode(key, value, r);
    }
    const secretKeys = raw.secretKeys ?? [];
    for (const key of SECRET_KEYS) {
        if (top[key] !== undefined && !secretKeys.includes(r.key(key))) {
            r.problems.push(`${r.key(key)}: is stored in plain text (set it with: pulumi config set --secret ${key} <value>)`);
        }
        if (top[key] === "") r.problems.push(`${r.key(key)}: is empty`);
    }

    const settings = readSettings(r, top);
    if (r.problems.length > 0) throw new ConfigError(r.problems);
    return settings;
}

/** What a library user passes: every setting optional, nested ones partially. */
export type ControlPlaneSettingsInput = PartialSettings<ControlPlaneSettings>;

/**
 * Validates a library user's settings with the rules of the stack configuration, and completes
 * them with the defaults. Secrets are checked when given as plain strings (an Output is checked by
 * nobody before the deployment). Throws a ConfigError naming every invalid argument.
 */
export function resolveSettings(input: ControlPlaneSettingsInput, secrets: { jwtSecret?: unknown; redisPassword?: unknown } = {}): ControlPlaneSettings {
    const r = new Reader(LIBRARY_ARGS);
    const top: Obj = {};
    for (const [key, value] of Object.entries({ ...input, ...secrets })) {
        if (!(TOP_LEVEL_KEYS as readonly string[]).includes(key)) {
            r.problems.push(`${key}: unknown key (allowed: ${TOP_LEVEL_KEYS.join(", ")})`);
        } else if (value !== undefined) {
            top[key] = value;
        }
    }
    const settings = readSettings(r, top);
    if (r.problems.length > 0) throw new ConfigError(r.problems);
    return settings;
}

function readSettings(r: Reader, top: Obj): ControlPlaneSettings {
    const settings: ControlPlaneSettings = {
        namespace: r.string("namespace", top.namespace, DEFAULTS.namespace, DNS_LABEL, "is not a valid namespace name (lower-case letters, digits and '-', at most 63)"),
        createNamespace: r.boolean("createNamespace", top.createNamespace, DEFAULTS.createNamespace),
        storage: r.enumeration("storage", top.storage, STORAGE_TYPES, DEFAULTS.storage),
        serviceType: r.enumeration("serviceType", top.serviceType, SERVICE_TYPES, DEFAULTS.serviceType),
        auth: r.enumeration("auth", top.auth, AUTH_MODES, DEFAULTS.auth),
        spreadAcrossZones: r.boolean("spreadAcrossZones", top.spreadAcrossZones, DEFAULTS.spreadAcrossZones),
        controller: readApiService(r, "controller", top.controller, DEFAULTS.controller),
        registry: readApiService(r, "registry", top.registry, DEFAULTS.registry),
        redis: readRedis(r, top.redis, DEFAULTS.redis),
    };

    crossCheck(r, settings, top);
    return settings;
}

/** Rules that span several keys. */
function crossCheck(r: Reader, s: ControlPlaneSettings, top: Obj): void {
    if (s.storage === "memory") {
        const unset: string[] = [];
        for (const service of ["controller", "registry"] as const) {
            const svc = s[service];
            const given = top[service] && typeof top[service] === "object" ? (top[service] as Obj).replicas : undefined;
            if (svc.replicas > 1 && given === undefined) unset.push(`${service}.replicas`);
            // An invalid value was reported already; the default that replaced it is not the user's.
            if (svc.replicas > 1 && given !== undefined && Number(given) === svc.replicas) {
                r.fail(`${service}.replicas`, svc.replicas, "must be 1 with storage memory (each replica would keep its own copy of the data; use storage redis for several replicas)");
            }
            if (svc.autoscaling) {
                r.problems.push(`${r.key(`${service}.autoscaling`)}: cannot be used with storage memory (each replica would keep its own copy of the data)`);
            }
        }
        if (unset.length > 0) {
            // Name what to set, not a default the user never wrote.
            const how = unset.map((p) => r.source.howToSet(p, "1")).join("; ");
            r.problems.push(
                `${r.key("storage")}: "memory" runs one replica of each service (each would keep its own copy of the data): set ${unset.join(" and ")} to 1 (${how}), or use storage redis`,
            );
        }
        if (top.redis !== undefined) {
            r.problems.push(`${r.key("redis")}: is set but storage is memory (remove it, or set storage to redis)`);
        }
        if (top.redisPassword !== undefined) {
            r.problems.push(`${r.key("redisPassword")}: is set but storage is memory`);
        }
    }
    if (s.storage === "redis" && s.redis.mode === "external" && top.redisPassword === undefined) {
        r.problems.push(`${r.key("redisPassword")}: required when redis.mode is external (pulumi config set --secret redisPassword <password>)`);
    }
    const password = top.redisPassword;
    if (s.redis.mode !== "external" && typeof password === "string" && !/^[A-Za-z0-9]{16,}$/.test(password)) {
        // Never echo a secret: say only what is wrong with it.
        r.problems.push(`${r.key("redisPassword")}: must be at least 16 letters and digits (it is substituted into Redis, Sentinel and HAProxy configuration)`);
    }
    if (s.auth !== "jwt" && top.jwtSecret !== undefined) {
        r.problems.push(`${r.key("jwtSecret")}: is set but auth is ${s.auth} (set auth to jwt, or remove it)`);
    }
    if (s.serviceType === "NodePort" && s.controller.nodePort === s.registry.nodePort) {
        r.fail("registry.nodePort", s.registry.nodePort, `collides with controller.nodePort (${s.controller.nodePort}); each Service needs its own node port`);
    }
}

/** The tag of a pinned image (used as the `app.kubernetes.io/version` label). */
export function imageVersion(image: string): string {
    const digest = image.indexOf("@");
    if (digest >= 0) return image.slice(digest + 8, digest + 8 + 12);
    const lastSlash = image.lastIndexOf("/");
    const colon = image.indexOf(":", lastSlash + 1);
    return colon < 0 ? "latest" : image.slice(colon + 1);
}
