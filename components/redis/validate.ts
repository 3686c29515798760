/** Validation of Redis layouts: every problem at once, each message naming the field. */
import { hostProblem, isIpLiteral } from "../hosts";
import { MAX_HOLD_WITHOUT_MASTER_MS, RedisHaLayout, RedisHaPaths, RedisStandaloneLayout, majorityOf } from "./layout";

const NAME_RE = /^[A-Za-z0-9._-]{1,64}$/;
const PATH_RE = /^\/[A-Za-z0-9._/-]*$/;
const COMMAND_RE = /^[A-Z][A-Z0-9_|-]*$/;
const BIND_RE = /^[A-Za-z0-9.:*\- ]+$/;

export { isIpLiteral };

function isHost(host: string): boolean {
    return hostProblem(host) === undefined;
}

function isPort(p: number): boolean {
    return Number.isInteger(p) && p >= 1 && p <= 65535;
}

function checkInt(problems: string[], key: string, v: number, min: number, max = Number.MAX_SAFE_INTEGER, why = ""): void {
    if (!Number.isInteger(v) || v < min || v > max) {
        const range = max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer in ${min}-${max}`;
        problems.push(`${key}: ${String(v)} must be ${range}${why ? ` (${why})` : ""}`);
    }
}

function checkPaths(problems: string[], paths: RedisHaPaths): void {
    for (const [k, v] of Object.entries(paths) as [keyof RedisHaPaths, string][]) {
        if (typeof v !== "string" || !PATH_RE.test(v) || v.includes("//")) {
            problems.push(
                `paths.${k}: "${String(v)}" must be an absolute path of letters, digits and ._-/ ` +
                    "(it is written into shell scripts and config files)",
            );
        }
    }
}

function checkCommands(problems: string[], cmds: string[]): void {
    for (const c of cmds) {
        if (!COMMAND_RE.test(c)) problems.push(`disabledCommands: "${c}" is not an upper-case Redis command name`);
        if (
            [
                "CONFIG",
                "SLAVEOF",
                "REPLICAOF",
                "INFO",
                "PING",
                "CLIENT",
                "AUTH",
                "PUBLISH",
                "SUBSCRIBE",
                "EXEC",
                "MULTI",
                "SCRIPT",
                "ROLE",
            ].includes(c)
        ) {
            problems.push(`disabledCommands: ${c} is used by Sentinel or the scripts and cannot be disabled`);
        }
    }
}

/** Every problem of a layout, each message naming the field; empty when the layout is valid. */
export function validateRedisHaLayout(layout: RedisHaLayout): string[] {
    const p: string[] = [];
    const n = layout.nodes.length;
    if (!NAME_RE.test(layout.masterName)) p.push(`masterName: "${layout.masterName}" must be 1-64 letters, digits or ._-`);
    if (n < 3 || n % 2 === 0) {
        p.push(`nodes: ${n} node(s); Sentinel HA needs an odd number >= 3 (3, 5, 7...) so that a majority exists after one loss`);
    }
    const endpoints = new Map<string, string>();
    const claim = (what: string, host: string, port: number): void => {
        const key = `${host.toLowerCase()}:${port}`;
        const other = endpoints.get(key);
        if (other) p.push(`${what}: ${host}:${port} is already used by ${other}`);
        else endpoints.set(key, what);
    };
    layout.nodes.forEach((node, i) => {
        if (typeof node.host !== "string" || !isHost(node.host))
            p.push(`nodes[${i}].host: "${String(node.host)}" is not a host name or IP address`);
        if (!isPort(node.redisPort)) p.push(`nodes[${i}].redisPort: ${String(node.redisPort)} is not a port (1-65535)`);
        if (!isPort(node.sentinelPort)) p.push(`nodes[${i}].sentinelPort: ${String(node.sentinelPort)} is not a port (1-65535)`);
        claim(`nodes[${i}].redisPort`, String(node.host), node.redisPort);
        claim(`nodes[${i}].sentinelPort`, String(node.host), node.sentinelPort);
    });
    const majority = majorityOf(n);
    if (!Number.isInteger(layout.quorum) || layout.quorum < majority || layout.quorum > n) {
        p.push(
            `quorum: ${String(layout.quorum)} must be a majority of the ${n} Sentinels (${majority}-${n}); ` +
                "a smaller quorum lets a minority fail over and lets HAProxy trust a minority vote",
        );
    }
    checkInt(
        p,
        "sentinel.downAfterMilliseconds",
        layout.sentinel.downAfterMilliseconds,
        1000,
        3600000,
        "below 1000 ms Sentinel fails over spuriously; 2000 is recommended",
    );
    checkInt(p, "sentinel.failoverTimeout", layout.sentinel.failoverTimeout, 1000, 3600000);
    checkInt(p, "sentinel.parallelSyncs", layout.sentinel.parallelSyncs, 1, 64);
    checkInt(
        p,
        "minReplicasToWrite",
        layout.minReplicasToWrite,
        1,
        Math.max(1, n - 1),
        "writes must reach a replica before they count, and a master must keep accepting writes with one node down",
    );
    checkInt(p, "minReplicasMaxLag", layout.minReplicasMaxLag, 1, 3600);
    checkInt(p, "replDisklessSyncDelay", layout.replDisklessSyncDelay, 0, 3600);
    checkInt(p, "replicaPriority", layout.replicaPriority, 1, 1000000, "0 would make every replica ineligible for promotion");
    checkInt(p, "cliTimeoutSeconds", layout.cliTimeoutSeconds, 1, 60);
    checkInt(p, "replicaSyncWaitSeconds", layout.replicaSyncWaitSeconds, 10, 86400);
    if (!BIND_RE.test(layout.bind)) p.push(`bind: "${layout.bind}" is not a list of addresses`);
    checkCommands(p, layout.disabledCommands);
    const h = layout.haproxy;
    if (!isIpLiteral(h.bind) && h.bind !== "*") p.push(`haproxy.bind: "${h.bind}" must be an IP address (0.0.0.0, ::, 127.0.0.1) or *`);
    if (!isPort(h.port)) p.push(`haproxy.port: ${String(h.port)} is not a port (1-65535)`);
    else claim("haproxy.port", h.bind, h.port);
    if (h.healthPort !== undefined) {
        if (!isPort(h.healthPort)) p.push(`haproxy.healthPort: ${String(h.healthPort)} is not a port (1-65535)`);
        else claim("haproxy.healthPort", h.bind, h.healthPort);
    }
    checkInt(p, "haproxy.checkIntervalMs", h.checkIntervalMs, 100, 60000);
    checkInt(p, "haproxy.downIntervalMs", h.downIntervalMs, 50, 60000);
    checkInt(p, "haproxy.checkTimeoutMs", h.checkTimeoutMs, 100, 60000);
    checkInt(
        p,
        "haproxy.holdWithoutMasterMs",
        h.holdWithoutMasterMs,
        0,
        MAX_HOLD_WITHOUT_MASTER_MS,
        "a held connection must give up before the services' 30 s client timeouts",
    );
    checkInt(p, "haproxy.connectTimeoutMs", h.connectTimeoutMs, 100, 60000);
    checkInt(p, "haproxy.clientTimeoutMs", h.clientTimeoutMs, 1000);
    checkInt(p, "haproxy.serverTimeoutMs", h.serverTimeoutMs, 1000);
    checkInt(p, "haproxy.maxConnections", h.maxConnections, 1, 1000000);
    checkPaths(p, layout.paths);
    return p;
}

export function validateStandaloneRedisLayout(layout: RedisStandaloneLayout): string[] {
    const p: string[] = [];
    if (!isHost(layout.host)) p.push(`host: "${layout.host}" is not a host name or IP address`);
    if (!isPort(layout.port)) p.push(`port: ${String(layout.port)} is not a port (1-65535)`);
    if (!BIND_RE.test(layout.bind)) p.push(`bind: "${layout.bind}" is not a list of addresses`);
    checkInt(p, "cliTimeoutSeconds", layout.cliTimeoutSeconds, 1, 60);
    checkCommands(p, layout.disabledCommands);
    checkPaths(p, layout.paths);
    return p;
}

export class RedisLayoutError extends Error {
    constructor(readonly problems: string[]) {
        super(`invalid Redis layout:\n  - ${problems.join("\n  - ")}`);
        this.name = "RedisLayoutError";
    }
}

export function assertValidRedisHaLayout(layout: RedisHaLayout): void {
    const problems = validateRedisHaLayout(layout);
    if (problems.length > 0) throw new RedisLayoutError(problems);
}
