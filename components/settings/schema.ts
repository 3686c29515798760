/**
 * Every stack setting, declared once: default, allowed values and description. The parser
 * (components/config.ts), DEFAULTS, the known keys, Pulumi.yaml's `config:` block and the README's
 * configuration table derive from this table. Pure.
 */
import { hostProblem } from "../hosts";
import { GroupSetting, TextSetting, choice, defaultOf, flag, group, image, integer, text } from "./kinds";
import { REDIS_PASSWORD_RULE } from "./redisPassword";
import {
    AUTH_MODES,
    ApiServiceSettings,
    AutoscalingSettings,
    ControlPlaneSettings,
    LOG_LEVELS,
    REDIS_MODES,
    ResourceSettings,
    SERVICE_TYPES,
    STORAGE_TYPES,
} from "./types";

/** The project, and so the namespace of every key: `a8-control-plane:namespace`. */
export const PROJECT = "a8-control-plane";

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const QUANTITY = /^[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/;
const STORAGE_CLASS = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
const HOST_PORT = /^[A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?:[0-9]{1,5}$/;

/** Parses `host:port`; undefined when malformed. */
export function parseHostPort(address: string): { host: string; port: number } | undefined {
    if (!HOST_PORT.test(address)) return undefined;
    const i = address.lastIndexOf(":");
    const port = Number(address.slice(i + 1));
    if (port < 1 || port > 65535) return undefined;
    return { host: address.slice(0, i), port };
}

function quantity<T extends string | undefined>(defaultValue: T, example: string, description: string): TextSetting<T> {
    return text({
        default: defaultValue,
        pattern: QUANTITY,
        mismatch: `is not a Kubernetes quantity (${example})`,
        allowed: "a Kubernetes quantity",
        description,
    });
}

/** `requests 100m/64Mi, limits 500m/256Mi`; `limit 512Mi` when there is no CPU limit. */
function resourcesText(r: ResourceSettings): string {
    const requests = `requests \`${r.requests.cpu}\`/\`${r.requests.memory}\``;
    return r.limits.cpu ? `${requests}, limits \`${r.limits.cpu}\`/\`${r.limits.memory}\`` : `${requests}, limit \`${r.limits.memory}\``;
}

function resources(d: ResourceSettings, description: string): GroupSetting<ResourceSettings> {
    const example = "e.g. 100m, 128Mi";
    return group<ResourceSettings>(
        {
            requests: group(
                { cpu: quantity(d.requests.cpu, example, "CPU request"), memory: quantity(d.requests.memory, example, "memory request") },
                "What the scheduler reserves",
            ),
            limits: group(
                { cpu: quantity(d.limits.cpu, example, "CPU limit"), memory: quantity(d.limits.memory, example, "memory limit") },
                "What the container may use at most",
            ),
        },
        description,
        { oneRow: true, summary: resourcesText },
    );
}

const API_SERVICE_RESOURCES: ResourceSettings = {
    requests: { cpu: "100m", memory: "64Mi" },
    limits: { cpu: "500m", memory: "256Mi" },
};

const AUTOSCALING = group<AutoscalingSettings>(
    {
        minReplicas: integer({
            default: 2,
            min: 2,
            max: 1000,
            why: "an autoscaled service keeps at least 2 replicas",
            description: "fewest replicas",
        }),
        maxReplicas: integer({
            default: { text: "3 × minReplicas", of: (g) => Math.max(Number(g.minReplicas), 2) * 3 },
            min: 2,
            max: 1000,
            description: "most replicas, more than minReplicas",
        }),
        targetCpuUtilization: integer({
            default: 70,
            min: 1,
            max: 100,
            why: "percent of the CPU request",
            description: "CPU use the autoscaler aims at",
        }),
    },
    "A HorizontalPodAutoscaler instead of a fixed replica count",
    {
        optional: true,
        oneRow: true,
        unsetText: "off",
        rule: (a) =>
            a.maxReplicas <= a.minReplicas
                ? { field: "maxReplicas", problem: `must be greater than minReplicas (${a.minReplicas})` }
                : undefined,
    },
);

/** The settings of one Amalgam8 service; the two differ only in these defaults. */
function apiService(role: string, d: { port: number; nodePort: number; image: string }): GroupSetting<ApiServiceSettings> {
    return group<ApiServiceSettings>(
        {
            replicas: integer({ default: 3, min: 1, max: 1000, description: "Pods of the service (ignored when `autoscaling` is set)" }),
            port: integer({ default: d.port, min: 1, max: 65535, description: "Port of the Service (the containers listen on 8080)" }),
            nodePort: integer({
                default: d.nodePort,
                min: 30000,
                max: 32767,
                description: "Node port with `serviceType: NodePort`; the two services need distinct ones",
            }),
            image: image(
                d.image,
                "The service's image; the patched images `ghcr.io/<owner>/a8-controller:<version>` / `a8-registry:<version>` " +
                    "fix the failover defects ([below](#what-sidecars-see-during-a-redis-failover))",
            ),
            logLevel: choice(LOG_LEVELS, "info", "Log level of the service"),
            resources: resources(API_SERVICE_RESOURCES, "Requests and limits of the service's container"),
            autoscaling: AUTOSCALING,
        },
        `The ${role}`,
        { family: "apiService" },
    );
}

/** Every setting of the program, in the order messages list them as allowed keys. */
export const SETTINGS = group<ControlPlaneSettings>(
    {
        namespace: text({
            default: "amalgam8",
            pattern: DNS_LABEL,
            mismatch: "is not a valid namespace name (lower-case letters, digits and '-', at most 63)",
            allowed: "a DNS label",
            description: "Namespace of every object",
        }),
        createNamespace: flag(true, "Create the namespace (true) or deploy into an existing one (false)"),
        storage: choice(
            STORAGE_TYPES,
            "redis",
            "Where the services keep their data (memory: each replica keeps its own copy, so one replica each, " +
                "no autoscaling, no redis key; local development only)",
        ),
        serviceType: choice(SERVICE_TYPES, "ClusterIP", "Type of the controller and registry Services"),
        auth: choice(AUTH_MODES, "none", "Authentication of the API (jwt: tokens signed with jwtSecret)"),
        spreadAcrossZones: flag(false, "Spread replicas across zones as well as nodes (nodes need the label topology.kubernetes.io/zone)"),
        controller: apiService("controller", { port: 6080, nodePort: 31200, image: "amalgam8/a8-controller:1.1.0" }),
        registry: apiService("registry", { port: 5080, nodePort: 31300, image: "amalgam8/a8-registry:1.1.0" }),
        redis: group(
            {
                mode: choice(
                    REDIS_MODES,
                    "ha",
                    "Sentinel-managed nodes behind HAProxy (`ha`), one node (`standalone`), or a managed Redis (`external`)",
                ),
                image: image("redis:7.2.5-alpine", "Image of Redis and Sentinel"),
                storageSize: quantity("1Gi", "e.g. 1Gi", "PersistentVolume size per node"),
                storageClass: text({
                    default: undefined,
                    pattern: STORAGE_CLASS,
                    mismatch: "is not a StorageClass name",
                    allowed: "a StorageClass name",
                    unsetText: "cluster default",
                    description: "StorageClass of the PersistentVolumes",
                }),
                resources: resources(
                    { requests: { cpu: "100m", memory: "128Mi" }, limits: { memory: "512Mi" } },
                    "Requests and limits of the Redis container",
                ),
                nodes: integer({
                    default: 3,
                    min: 3,
                    max: 9,
                    why: "an odd number of nodes, each with a Sentinel",
                    rule: (n) => (n % 2 === 0 ? "is even (Sentinel needs an odd number for a majority: 3, 5, 7 or 9)" : undefined),
                    description: "`ha`: Redis nodes, each with a Sentinel; odd, so that a majority exists",
                }),
                sentinel: group(
                    {
                        downAfterMilliseconds: integer({
                            default: 2000,
                            min: 1000,
                            max: 600000,
                            why: "below 2000 Sentinel fails over spuriously",
                            description: "`ha`: how long a master may not answer before Sentinel fails over",
                        }),
                        failoverTimeout: integer({
                            default: 5000,
                            min: 1000,
                            max: 3600000,
                            description: "`ha`: Sentinel fails over the same master again only after twice this",
                        }),
                        resources: resources(
                            { requests: { cpu: "50m", memory: "32Mi" }, limits: { memory: "128Mi" } },
                            "`ha`: requests and limits of the Sentinel container",
                        ),
                    },
                    "The Sentinels beside the `ha` nodes",
                ),
                haproxy: group(
                    {
                        replicas: integer({
                            default: 3,
                            min: 2,
                            max: 100,
                            why: "the proxy in front of Redis must itself be HA",
                            description: "`ha`: HAProxy pods in front of the nodes",
                        }),
                        image: image("haproxy:2.6.17-alpine", "`ha`: image of HAProxy"),
                        resources: resources(
                            { requests: { cpu: "50m", memory: "32Mi" }, limits: { memory: "128Mi" } },
                            "`ha`: requests and limits of HAProxy",
                        ),
                    },
                    "The HAProxy Deployment in front of the `ha` nodes",
                ),
                address: text({
                    default: undefined,
                    pattern: HOST_PORT,
                    mismatch: "is not host:port (e.g. my-redis.example.com:6379)",
                    allowed: "`host:port`",
                    unsetText: "none",
                    rule: (a) => {
                        const parsed = parseHostPort(a);
                        if (!parsed) return "has a port outside 1-65535";
                        const problem = hostProblem(parsed.host);
                        return problem && `has host ${parsed.host}, which ${problem}`;
                    },
                    description: "`external` only, and required there: the managed Redis primary endpoint",
                }),
            },
            "The Redis the services keep their data in (storage redis)",
        ),
    },
    "The control plane",
);

/** A setting set with `pulumi config set --secret`: never stored or shown in plain text. */
export interface SecretSetting {
    readonly description: string;
    /** Letters and digits generated when the setting is absent. */
    readonly generatedLength: number;
    readonly allowed: string;
}

/** Config keys whose values must be set with `pulumi config set --secret`. */
export const SECRETS = {
    jwtSecret: {
        description: "HS256 secret that signs the tokens; only with `auth: jwt`",
        generatedLength: 48,
        allowed: "any string",
    },
    redisPassword: {
        description: "AUTH password of Redis; not with `storage: memory`",
        generatedLength: 32,
        allowed:
            `\`external\`: the managed Redis's password, required; otherwise at least ${REDIS_PASSWORD_RULE.minLength} characters: ` +
            `letters, digits and \`${REDIS_PASSWORD_RULE.symbols}\``,
    },
} as const satisfies Record<string, SecretSetting>;

export type SecretKey = keyof typeof SECRETS;
export const SECRET_KEYS = Object.keys(SECRETS) as readonly SecretKey[];

/** The keys a stack may set in the project's namespace. */
export const TOP_LEVEL_KEYS: readonly string[] = [...Object.keys(SETTINGS.fields), ...SECRET_KEYS];

/**
 * The highly available deployment this project exists for: an unconfigured stack (or a library
 * user passing no arguments) passes the strictest policy config. Small set-ups opt out explicitly.
 */
export const DEFAULTS: ControlPlaneSettings = defaultOf(SETTINGS);
