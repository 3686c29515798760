/**
 * Recognising Redis pods and reading Redis/Sentinel configuration text.
 *
 * Redis is recognised by what runs, not only by labels: an image whose repository ends in
 * `redis`, or a container listening on 6379, or the recommended label `app.kubernetes.io/name: redis`.
 * A pod can be a data node (redis-server, possibly with a Sentinel sidecar), a Sentinel-only pod,
 * or a proxy in front (HAProxy on 6379). Exposure and network rules treat all three as Redis;
 * persistence, replication and auth rules only concern data nodes.
 */
import { Container, PodTemplate, containerPorts, containersOf, imageName } from "./k8s";

export type RedisRole = "server" | "sentinel" | "proxy";
export type ContainerRedisRole = RedisRole | undefined;

const PROXY_IMAGE = /(^|[-_])(haproxy|envoy|twemproxy|nutcracker|predixy|nginx)($|[-_])|redis-?proxy/;

export const REDIS_PORT = 6379;
export const SENTINEL_PORT = 26379;

function commandLine(c: Container): string {
    const parts = [...(Array.isArray(c.command) ? c.command : []), ...(Array.isArray(c.args) ? c.args : [])];
    return parts.filter((p) => typeof p === "string").join(" ");
}

function listensOn(c: Container, port: number): boolean {
    return containerPorts(c).some((p) => p?.containerPort === port);
}

export function isRedisImage(image: unknown): boolean {
    const n = imageName(image);
    return n.endsWith("redis") && !PROXY_IMAGE.test(n);
}

export function isProxyImage(image: unknown): boolean {
    return PROXY_IMAGE.test(imageName(image));
}

/** What one container does for Redis, if anything. */
export function containerRedisRole(c: Container): ContainerRedisRole {
    const name = typeof c.name === "string" ? c.name.toLowerCase() : "";
    const cmd = commandLine(c).toLowerCase();
    const redisImage = isRedisImage(c.image) || imageName(c.image) === "redis-sentinel";
    if (isProxyImage(c.image)) {
        return listensOn(c, REDIS_PORT) || name.includes("redis") || name.includes("haproxy") ? "proxy" : undefined;
    }
    const sentinelish =
        /redis-sentinel|--sentinel|sentinel\.conf/.test(cmd) ||
        imageName(c.image) === "redis-sentinel" ||
        (name.includes("sentinel") && (redisImage || listensOn(c, SENTINEL_PORT))) ||
        (listensOn(c, SENTINEL_PORT) && !listensOn(c, REDIS_PORT));
    if (sentinelish) {
        return "sentinel";
    }
    if (redisImage || listensOn(c, REDIS_PORT)) {
        return "server";
    }
    return undefined;
}

/**
 * The pod's Redis role: server wins over sentinel (a data node with a Sentinel sidecar is a
 * data node), sentinel over proxy. Labels decide only when no container says anything.
 */
export function podRedisRole(pod: PodTemplate): RedisRole | undefined {
    const roles = new Set(containersOf(pod.spec).map(containerRedisRole));
    if (roles.has("server")) return "server";
    if (roles.has("sentinel")) return "sentinel";
    if (roles.has("proxy")) return "proxy";
    const label = (pod.labels["app.kubernetes.io/name"] ?? "").toLowerCase();
    if (label === "redis") return "server";
    if (label === "redis-sentinel") return "sentinel";
    if (label === "redis-haproxy" || label === "redis-proxy") return "proxy";
    return undefined;
}

export function sentinelContainers(pod: PodTemplate): Container[] {
    return containersOf(pod.spec).filter((c) => containerRedisRole(c) === "sentinel");
}

export function serverContainers(pod: PodTemplate): Container[] {
    return containersOf(pod.spec).filter((c) => containerRedisRole(c) === "server");
}

/** One `directive arg...` line of redis.conf / sentinel.conf; the directive is lower-cased. */
export interface ConfDirective {
    name: string;
    args: string[];
}

/** Splits a config line into words, honouring single and double quotes. */
function words(line: string): string[] {
    const out: string[] = [];
    const re = /"((?:[^"\\]|\\.)*)"|'([^']*)'|(\S+)/g;
    let m: RegExpExecArray | null;
    while ((m = re.exec(line)) !== null) {
        const w = m[1] ?? m[2] ?? m[3];
        if (m[3] !== undefined && m[3].startsWith("#")) {
            // Redis has no trailing comments, but a stray one must not read as a value.
            break;
        }
        out.push(w);
    }
    return out;
}

/** Parses redis.conf / sentinel.conf text tolerantly: comments, blank lines, any case, CRLF. */
export function parseConf(text: unknown): ConfDirective[] {
    if (typeof text !== "string") {
        return [];
    }
    const out: ConfDirective[] = [];
    for (const raw of text.split(/\r?\n/)) {
        const line = raw.trim();
        if (line === "" || line.startsWith("#")) {
            continue;
        }
        const w = words(line);
        if (w.length > 0) {
            out.push({ name: w[0].toLowerCase(), args: w.slice(1) });
        }
    }
    return out;
}

/**
 * Directives given on the command line: `redis-server /etc/redis.conf --appendonly yes
 * --requirepass "$(PW)"`, also inside `sh -c "..."` strings.
 */
export function parseArgDirectives(c: Container): ConfDirective[] {
    const text = commandLine(c);
    const out: ConfDirective[] = [];
    const tokens = words(text.replace(/\\\n/g, " "));
    for (let i = 0; i < tokens.length; i++) {
        const t = tokens[i];
        if (!t.startsWith("--") || t.length <= 2) {
            continue;
        }
        const [flag, inline] = t.slice(2).split("=", 2);
        const args: string[] = [];
        if (inline !== undefined) {
            args.push(inline);
        } else {
            while (i + 1 < tokens.length && !tokens[i + 1].startsWith("--") && !/^(&&|;|\|\|)$/.test(tokens[i + 1])) {
                args.push(tokens[++i]);
            }
        }
        out.push({ name: flag.toLowerCase(), args });
    }
    return out;
}

export function lastDirective(ds: ConfDirective[], name: string): ConfDirective | undefined {
    const n = name.toLowerCase();
    for (let i = ds.length - 1; i >= 0; i--) {
        if (ds[i].name === n) {
            return ds[i];
        }
    }
    return undefined;
}

export interface SentinelMonitor {
    master: string;
    host: string;
    port: string;
    quorum: number;
}

/** `sentinel monitor <name> <host> <port> <quorum>` lines. */
export function sentinelMonitors(ds: ConfDirective[]): SentinelMonitor[] {
    const out: SentinelMonitor[] = [];
    for (const d of ds) {
        if (d.name === "sentinel" && (d.args[0] ?? "").toLowerCase() === "monitor" && d.args.length >= 5) {
            const q = Number(d.args[4]);
            out.push({ master: d.args[1], host: d.args[2], port: d.args[3], quorum: Number.isInteger(q) ? q : NaN });
        }
    }
    return out;
}

/** `sentinel <sub> <master> ...` (e.g. auth-pass) for a given sub-command. */
export function sentinelSub(ds: ConfDirective[], sub: string): ConfDirective[] {
    return ds.filter((d) => d.name === "sentinel" && (d.args[0] ?? "").toLowerCase() === sub);
}

/** Whether a data key of a ConfigMap/Secret holds Sentinel rather than Redis configuration. */
export function isSentinelConfKey(key: string): boolean {
    return /sentinel/i.test(key) && /\.conf$/i.test(key);
}

export function isRedisConfKey(key: string): boolean {
    return /\.conf$/i.test(key) && !isSentinelConfKey(key) && !/haproxy|nginx|envoy/i.test(key);
}
