/**
 * Configuration files and scripts for Redis behind one stable address: Redis master + replicas,
 * one Sentinel beside each node, HAProxy in front routing to the node that reports `role:master`
 * AND that a majority of Sentinels name.
 *
 * Pure functions only (no Pulumi, no fs, no process): the same generator serves Kubernetes
 * (stable DNS names, every port 6379/26379) and the loopback test harness (127.0.0.1, distinct
 * ports). Only the addresses and paths in the layout differ.
 *
 * No file produced here contains the password: files carry PASSWORD_PLACEHOLDER and init.sh
 * substitutes it at start from a mounted password file into writable runtime copies.
 */

/** Token that init.sh replaces with the password read from the password file. */
export const PASSWORD_PLACEHOLDER = "__REDIS_HA_PASSWORD__";

/** HAProxy reads the password from this environment variable (`"AUTH ${AUTH}"` in tcp-checks). */
export const HAPROXY_PASSWORD_ENV = "AUTH";

/**
 * Passwords the scripts accept. HAProxy sends `AUTH <password>` as an inline command, where
 * blanks, quotes and backslashes would split or mangle it, so init.sh refuses anything else.
 */
export const REDIS_PASSWORD_PATTERN = /^[A-Za-z0-9._~+/=@:,-]+$/;

/** Environment variables the generated scripts read; all optional (defaults come from the layout). */
export const SCRIPT_ENV = {
    /** Node ordinal; when unset, derived from HOSTNAME (`redis-node-2` -> 2). */
    ordinal: "REDIS_HA_ORDINAL",
    /** Directory holding the rendered files (templates and scripts). */
    templateDir: "REDIS_HA_TEMPLATE_DIR",
    /** Writable directory for the runtime redis.conf / sentinel.conf. */
    configDir: "REDIS_HA_CONFIG_DIR",
    /** Redis data directory (AOF). */
    dataDir: "REDIS_HA_DATA_DIR",
    /** File whose content is the password. */
    passwordFile: "REDIS_HA_PASSWORD_FILE",
    /** Address at which the scripts reach the node's own redis-server. */
    localHost: "REDIS_HA_LOCAL_HOST",
} as const;

/** Keys of the record returned by renderRedisHaFiles (also the file names on disk). */
export const REDIS_HA_FILES = {
    redisConf: "redis.conf",
    sentinelConf: "sentinel.conf",
    haproxyCfg: "haproxy.cfg",
    init: "init.sh",
    startRedis: "start-redis.sh",
    startSentinel: "start-sentinel.sh",
    preStop: "prestop.sh",
} as const;

export const DEFAULT_MASTER_NAME = "mymaster";

export interface RedisNodeAddress {
    /** Stable name or IP under which the node is announced and reached. */
    host: string;
    redisPort: number;
    sentinelPort: number;
}

export interface SentinelTimings {
    downAfterMilliseconds: number;
    failoverTimeout: number;
    parallelSyncs: number;
}

export interface HaproxyCheckTimings {
    /** Check interval of UP servers (`inter`). */
    checkIntervalMs: number;
    /** Check interval of DOWN servers (`downinter`); used only with fastFail. */
    downIntervalMs: number;
    /** Read timeout of a check (`timeout check`). */
    checkTimeoutMs: number;
    /** `expect min-recv` so that a mismatching reply fails at once instead of at checkTimeoutMs. */
    fastFail: boolean;
    /** `on-marked-down shutdown-sessions`: cut client sessions of a server that goes DOWN. */
    shutdownSessions: boolean;
    /** Hold new connections while no master is voted instead of refusing them (see holdWithoutMasterMs). */
    holdWithoutMaster: boolean;
    /** `observe layer4 error-limit 1 on-error mark-down`: a refused connection marks the server DOWN at once. */
    markDownOnConnectError: boolean;
}

/** The knobs that decide failover speed; the rest of a layout is topology. */
export interface RedisHaTimings {
    sentinel: SentinelTimings;
    haproxy: HaproxyCheckTimings;
    /** Seconds a master waits before starting a diskless full sync (Redis default 5). */
    replDisklessSyncDelay: number;
    minReplicasMaxLag: number;
}

export interface HaproxySettings extends HaproxyCheckTimings {
    /**
     * How long a new connection waits for a voted master before it is refused (0: refused at
     * once). It goes on to the master within HOLD_RECHECK_MS of the vote; the hold must outlast a
     * failover and stay well under the clients' timeouts.
     */
    holdWithoutMasterMs: number;
    /** Address of the Redis frontend (k8s: 0.0.0.0). */
    bind: string;
    port: number;
    /** Optional HTTP `GET /healthz` frontend for probes. */
    healthPort?: number;
    connectTimeoutMs: number;
    /** Idle timeouts of proxied sessions; pooled clients keep connections open. */
    clientTimeoutMs: number;
    serverTimeoutMs: number;
    maxConnections: number;
}

export interface RedisHaPaths {
    /** Read-only directory with every rendered file (k8s: the ConfigMap mount). */
    templateDir: string;
    /** Writable directory for runtime copies that Redis and Sentinel rewrite. */
    configDir: string;
    /** Redis `dir` (k8s: the PersistentVolume). */
    dataDir: string;
    /** File whose content is the password (k8s: a Secret volume). */
    passwordFile: string;
}

export interface RedisHaLayout {
    masterName: string;
    /** Ordinal order; node 0 is the master of a fresh cluster. */
    nodes: RedisNodeAddress[];
    /** Sentinels that must agree; also the votes HAProxy needs before routing to a node. */
    quorum: number;
    sentinel: SentinelTimings;
    minReplicasToWrite: number;
    minReplicasMaxLag: number;
    replDisklessSyncDelay: number;
    /** Priority a replica gets once synced (it starts at 0, so an unsynced replica is never promoted). */
    replicaPriority: number;
    /** `bind` of redis-server and Sentinel (k8s: `* -::*`; loopback: 127.0.0.1). */
    bind: string;
    /** Commands renamed to "" (disabled). */
    disabledCommands: string[];
    haproxy: HaproxySettings;
    paths: RedisHaPaths;
    /** Seconds a redis-cli call in the scripts may take. */
    cliTimeoutSeconds: number;
    /** Upper bound for a replica's first full sync before start-redis.sh gives up raising its priority. */
    replicaSyncWaitSeconds: number;
}

export interface RedisStandaloneLayout {
    host: string;
    port: number;
    bind: string;
    disabledCommands: string[];
    paths: RedisHaPaths;
    cliTimeoutSeconds: number;
}

/** Mount points and files assumed in Kubernetes when a layout does not say otherwise. */
export const KUBERNETES_PATHS: RedisHaPaths = {
    templateDir: "/readonly-config",
    configDir: "/data/conf",
    dataDir: "/data",
    passwordFile: "/etc/redis-auth/password",
};

/**
 * Measured on loopback (10 kill -9 of the master): first acknowledged write 2.5-3.5 s after the
 * kill, median about 3.1 s. The floor is down-after (2 s) plus Sentinel's 1 s INFO period
 * before it sees the promotion.
 */
export const recommendedTimings: RedisHaTimings = {
    // down-after 1000 ms caused a spurious second failover; 2000 did not. Sentinel fails over the
    // same master again only 2 x failover-timeout after a failover: 5000 allows it 10 s later.
    sentinel: { downAfterMilliseconds: 2000, failoverTimeout: 5000, parallelSyncs: 1 },
    // DOWN servers are rechecked every 100 ms: the promoted node and its votes count at once.
    haproxy: {
        checkIntervalMs: 1000,
        downIntervalMs: 100,
        checkTimeoutMs: 2000,
        fastFail: true,
        shutdownSessions: true,
        holdWithoutMaster: true,
        markDownOnConnectError: true,
    },
    // The default 5 s delay stalls writes (min-replicas-to-write) whenever the last replica must full-sync.
    replDisklessSyncDelay: 0,
    minReplicasMaxLag: 5,
};

/** Defaults of the reference redis-ha chart, for comparison in the benchmark. */
export const chartBaselineTimings: RedisHaTimings = {
    sentinel: { downAfterMilliseconds: 10000, failoverTimeout: 180000, parallelSyncs: 5 },
    haproxy: {
        checkIntervalMs: 1000,
        downIntervalMs: 1000,
        checkTimeoutMs: 2000,
        fastFail: false,
        shutdownSessions: false,
        holdWithoutMaster: false,
        markDownOnConnectError: false,
    },
    replDisklessSyncDelay: 5,
    minReplicasMaxLag: 5,
};

export interface RedisHaLayoutOptions {
    nodes: RedisNodeAddress[];
    timings?: RedisHaTimings;
    masterName?: string;
    quorum?: number;
    bind?: string;
    haproxy?: { bind?: string; port?: number; healthPort?: number };
    paths?: Partial<RedisHaPaths>;
    minReplicasToWrite?: number;
    replicaPriority?: number;
    disabledCommands?: string[];
}

/** Longest hold, safely under the 30 s client timeouts of the Amalgam8 services. */
export const MAX_HOLD_WITHOUT_MASTER_MS = 25000;

/**
 * How long HAProxy holds a connection while no master is voted: Sentinel's detection plus the
 * election, promotion and vote (a master is voted 0.7-1.7 s after down-after) with a margin for
 * a slow one; 5 s with the recommended timings. A held connection goes on as soon as a master
 * is voted (within HOLD_RECHECK_MS).
 */
export function holdWithoutMasterMs(s: SentinelTimings): number {
    return Math.min(s.downAfterMilliseconds + 3000, MAX_HOLD_WITHOUT_MASTER_MS);
}

/** A complete layout from addresses plus defaults (recommendedTimings, Kubernetes paths). */
export function buildRedisHaLayout(o: RedisHaLayoutOptions): RedisHaLayout {
    const t = o.timings ?? recommendedTimings;
    return {
        masterName: o.masterName ?? DEFAULT_MASTER_NAME,
        nodes: o.nodes.map((n) => ({ ...n })),
        quorum: o.quorum ?? majorityOf(o.nodes.length),
        sentinel: { ...t.sentinel },
        minReplicasToWrite: o.minReplicasToWrite ?? 1,
        minReplicasMaxLag: t.minReplicasMaxLag,
        replDisklessSyncDelay: t.replDisklessSyncDelay,
        replicaPriority: o.replicaPriority ?? 100,
        bind: o.bind ?? "* -::*",
        disabledCommands: o.disabledCommands ?? ["FLUSHALL", "FLUSHDB"],
        haproxy: {
            ...t.haproxy,
            holdWithoutMasterMs: t.haproxy.holdWithoutMaster ? holdWithoutMasterMs(t.sentinel) : 0,
            bind: o.haproxy?.bind ?? "0.0.0.0",
            port: o.haproxy?.port ?? 6379,
            healthPort: o.haproxy?.healthPort,
            connectTimeoutMs: 1000,
            clientTimeoutMs: 330000,
            serverTimeoutMs: 330000,
            maxConnections: 4096,
        },
        paths: { ...KUBERNETES_PATHS, ...o.paths },
        cliTimeoutSeconds: 2,
        replicaSyncWaitSeconds: 3600,
    };
}

/** Node addresses of a StatefulSet behind a headless Service (`<sts>-<i>.<svc>.<ns>.svc.<domain>`). */
export function kubernetesNodeAddresses(o: {
    statefulSetName: string;
    headlessServiceName: string;
    namespace: string;
    replicas: number;
    clusterDomain?: string;
    redisPort?: number;
    sentinelPort?: number;
}): RedisNodeAddress[] {
    const domain = o.clusterDomain ?? "cluster.local";
    return Array.from({ length: o.replicas }, (_, i) => ({
        host: `${o.statefulSetName}-${i}.${o.headlessServiceName}.${o.namespace}.svc.${domain}`,
        redisPort: o.redisPort ?? 6379,
        sentinelPort: o.sentinelPort ?? 26379,
    }));
}

export function standaloneRedisLayout(o: { host: string; port?: number; bind?: string; paths?: Partial<RedisHaPaths>; disabledCommands?: string[] }): RedisStandaloneLayout {
    return {
        host: o.host,
        port: o.port ?? 6379,
        bind: o.bind ?? "* -::*",
        disabledCommands: o.disabledCommands ?? ["FLUSHALL", "FLUSHDB"],
        paths: { ...KUBERNETES_PATHS, ...o.paths },
        cliTimeoutSeconds: 2,
    };
}

export function majorityOf(n: number): number {
    return Math.floor(n / 2) + 1;
}

/**
 * Minimum spacing between two crash faults of the same master name: a Sentinel that took part
 * in a failover starts no other one for 2 x failover-timeout, counted from the failover start
 * (plus up to 1 s of random desync and about 1 s to reach odown). down-after-milliseconds
 * delays both failovers alike, so it cancels out.
 */
export function minimumFaultSpacingMs(s: SentinelTimings): number {
    return 2 * s.failoverTimeout + 3000;
}

/** Longest time prestop.sh may run; terminationGracePeriodSeconds must exceed it. */
export function preStopBudgetSeconds(layout: RedisHaLayout): number {
    const t = preStopTimings(layout);
    return t.catchUpSeconds + t.failoverWaitSeconds + layout.nodes.length * layout.cliTimeoutSeconds * 3 + 2;
}

function preStopTimings(layout: RedisHaLayout): { catchUpSeconds: number; failoverWaitSeconds: number; pauseMs: number } {
    const catchUpSeconds = 2;
    const failoverWaitSeconds = Math.ceil(layout.sentinel.failoverTimeout / 1000) + 5;
    // Writes stay paused until the pod is gone: the pause must outlive the whole hook.
    const pauseMs = (catchUpSeconds + failoverWaitSeconds + layout.nodes.length * layout.cliTimeoutSeconds * 3 + 10) * 1000;
    return { catchUpSeconds, failoverWaitSeconds, pauseMs };
}

/** Seconds init.sh waits for Sentinel to fail over before refusing to start as an empty master. */
function emptyMasterWaitSeconds(layout: RedisHaLayout): number {
    return Math.ceil((2 * layout.sentinel.failoverTimeout + layout.sentinel.downAfterMilliseconds) / 1000) + 10;
}

// ---------------------------------------------------------------------------------------------
// Validation

const HOST_RE = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const IPV4_RE = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const IPV6_RE = /^[0-9A-Fa-f:.]+$/;
const NAME_RE = /^[A-Za-z0-9._-]{1,64}$/;
const PATH_RE = /^\/[A-Za-z0-9._\/-]*$/;
const COMMAND_RE = /^[A-Z][A-Z0-9_|-]*$/;
const BIND_RE = /^[A-Za-z0-9.:*\- ]+$/;

export function isIpLiteral(host: string): boolean {
    return IPV4_RE.test(host) || (host.includes(":") && IPV6_RE.test(host));
}

function isHost(host: string): boolean {
    return isIpLiteral(host) || HOST_RE.test(host);
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
            problems.push(`paths.${k}: "${String(v)}" must be an absolute path of letters, digits and ._-/ (it is written into shell scripts and config files)`);
        }
    }
}

function checkCommands(problems: string[], cmds: string[]): void {
    for (const c of cmds) {
        if (!COMMAND_RE.test(c)) problems.push(`disabledCommands: "${c}" is not an upper-case Redis command name`);
        if (["CONFIG", "SLAVEOF", "REPLICAOF", "INFO", "PING", "CLIENT", "AUTH", "PUBLISH", "SUBSCRIBE", "EXEC", "MULTI", "SCRIPT", "ROLE"].includes(c)) {
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
        if (typeof node.host !== "string" || !isHost(node.host)) p.push(`nodes[${i}].host: "${String(node.host)}" is not a host name or IP address`);
        if (!isPort(node.redisPort)) p.push(`nodes[${i}].redisPort: ${String(node.redisPort)} is not a port (1-65535)`);
        if (!isPort(node.sentinelPort)) p.push(`nodes[${i}].sentinelPort: ${String(node.sentinelPort)} is not a port (1-65535)`);
        claim(`nodes[${i}].redisPort`, String(node.host), node.redisPort);
        claim(`nodes[${i}].sentinelPort`, String(node.host), node.sentinelPort);
    });
    const majority = majorityOf(n);
    if (!Number.isInteger(layout.quorum) || layout.quorum < majority || layout.quorum > n) {
        p.push(`quorum: ${String(layout.quorum)} must be a majority of the ${n} Sentinels (${majority}-${n}); a smaller quorum lets a minority fail over and lets HAProxy trust a minority vote`);
    }
    checkInt(p, "sentinel.downAfterMilliseconds", layout.sentinel.downAfterMilliseconds, 1000, 3600000, "below 1000 ms Sentinel fails over spuriously; 2000 is recommended");
    checkInt(p, "sentinel.failoverTimeout", layout.sentinel.failoverTimeout, 1000, 3600000);
    checkInt(p, "sentinel.parallelSyncs", layout.sentinel.parallelSyncs, 1, 64);
    checkInt(p, "minReplicasToWrite", layout.minReplicasToWrite, 1, Math.max(1, n - 1), "writes must reach a replica before they count, and a master must keep accepting writes with one node down");
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
    checkInt(p, "haproxy.holdWithoutMasterMs", h.holdWithoutMasterMs, 0, MAX_HOLD_WITHOUT_MASTER_MS, "a held connection must give up before the services' 30 s client timeouts");
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

// ---------------------------------------------------------------------------------------------
// redis.conf / sentinel.conf

function disabledCommandLines(cmds: string[]): string[] {
    return cmds.map((c) => `rename-command ${c} ""`);
}

interface RedisConfInput {
    bind: string;
    minReplicasToWrite: number;
    minReplicasMaxLag: number;
    replDisklessSyncDelay: number;
    disabledCommands: string[];
    replicated: boolean;
}

function redisConf(c: RedisConfInput): string {
    const lines = [
        "# redis.conf template. init.sh copies it to a writable runtime file, puts the password in",
        "# place of the placeholder and appends the node-specific lines (port, dir, announce, replicaof).",
        `bind ${c.bind}`,
        "protected-mode yes",
        "daemonize no",
        'logfile ""',
        "loglevel notice",
        "tcp-keepalive 60",
        "timeout 0",
        `requirepass "${PASSWORD_PLACEHOLDER}"`,
        `masterauth "${PASSWORD_PLACEHOLDER}"`,
        "",
        "# Persistence: the controller's revision counters must survive restarts.",
        "appendonly yes",
        'appendfilename "appendonly.aof"',
        'appenddirname "appendonlydir"',
        "appendfsync everysec",
        "aof-use-rdb-preamble yes",
        'save ""',
        "",
        "# A write counts only once a replica has it; a master cut off from its replicas refuses writes.",
        `min-replicas-to-write ${c.minReplicasToWrite}`,
        `min-replicas-max-lag ${c.minReplicasMaxLag}`,
    ];
    if (c.replicated) {
        lines.push(
            "replica-read-only yes",
            "replica-serve-stale-data yes",
            "repl-diskless-sync yes",
            `repl-diskless-sync-delay ${c.replDisklessSyncDelay}`,
            "repl-backlog-size 16mb",
        );
    }
    lines.push("", ...disabledCommandLines(c.disabledCommands), "");
    return lines.join("\n");
}

function sentinelConf(layout: RedisHaLayout): string {
    const m = layout.masterName;
    const first = layout.nodes[0];
    const s = layout.sentinel;
    return [
        "# sentinel.conf template. init.sh copies it to a writable runtime file (Sentinel rewrites it),",
        "# puts the password in place of the placeholder, points `sentinel monitor` at the current",
        "# master and appends the node-specific lines (port, announce-ip/port, myid of this node).",
        `bind ${layout.bind}`,
        "daemonize no",
        'logfile ""',
        `requirepass "${PASSWORD_PLACEHOLDER}"`,
        // Must precede `sentinel monitor`, or a host name there is rejected.
        "sentinel resolve-hostnames yes",
        "sentinel announce-hostnames yes",
        `sentinel monitor ${m} ${first.host} ${first.redisPort} ${layout.quorum}`,
        `sentinel auth-pass ${m} "${PASSWORD_PLACEHOLDER}"`,
        `sentinel down-after-milliseconds ${m} ${s.downAfterMilliseconds}`,
        `sentinel failover-timeout ${m} ${s.failoverTimeout}`,
        `sentinel parallel-syncs ${m} ${s.parallelSyncs}`,
        "",
    ].join("\n");
}

// ---------------------------------------------------------------------------------------------
// haproxy.cfg

function ms(v: number): string {
    return `${v}ms`;
}

function hostPort(host: string, port: number): string {
    return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Hex of an ASCII string (host names are validated to be ASCII). */
function hex(s: string): string {
    return Array.from(s, (c) => c.charCodeAt(0).toString(16).padStart(2, "0")).join("").toUpperCase();
}

/** The exact RESP reply of `SENTINEL get-master-addr-by-name` naming this node. */
export function sentinelMasterReply(node: RedisNodeAddress): string {
    const port = String(node.redisPort);
    return `*2\r\n$${node.host.length}\r\n${node.host}\r\n$${port.length}\r\n${port}\r\n`;
}

function haproxyCfg(layout: RedisHaLayout): string {
    const h = layout.haproxy;
    const q = layout.quorum;
    const auth = `tcp-check send "AUTH \${${HAPROXY_PASSWORD_ENV}}"\\r\\n`;
    // min-recv makes a wrong reply fail on the first read instead of waiting for checkTimeoutMs.
    const okExpect = h.fastFail ? "tcp-check expect min-recv 5 string +OK" : "tcp-check expect string +OK";
    const dns = layout.nodes.some((n) => !isIpLiteral(n.host));
    const serverOpts = dns ? " resolvers dns resolve-prefer ipv4 init-addr libc,none" : "";
    const checkOpts = [
        "check",
        `inter ${ms(h.checkIntervalMs)}`,
        ...(h.fastFail ? [`downinter ${ms(h.downIntervalMs)}`] : []),
        "fall 1",
        "rise 1",
    ].join(" ");

    const out: string[] = [
        "# HAProxy in front of Redis: routes only to the node that reports role:master AND that",
        `# at least ${q} Sentinels name as master. The password comes from the environment variable ${HAPROXY_PASSWORD_ENV}.`,
        "global",
        `    maxconn ${h.maxConnections}`,
        "",
        "defaults",
        "    mode tcp",
        `    timeout connect ${ms(h.connectTimeoutMs)}`,
        `    timeout client ${ms(h.clientTimeoutMs)}`,
        `    timeout server ${ms(h.serverTimeoutMs)}`,
        `    timeout check ${ms(h.checkTimeoutMs)}`,
        "",
    ];
    if (dns) {
        out.push(
            "# Pods get new IPs when they restart: re-resolve the node names continuously.",
            "resolvers dns",
            "    parse-resolv-conf",
            "    resolve_retries 3",
            "    timeout resolve 1s",
            "    timeout retry 1s",
            "    hold valid 5s",
            "    hold other 5s",
            "    hold refused 5s",
            "    hold nx 5s",
            "    hold timeout 5s",
            "    hold obsolete 5s",
            "",
        );
    }
    if (h.healthPort !== undefined) {
        out.push("frontend health", "    mode http", `    bind ${hostPort(h.bind, h.healthPort)}`, "    monitor-uri /healthz", "");
    }
    out.push(...holdChain(layout), "");

    layout.nodes.forEach((node, i) => {
        out.push(
            `# Sentinels that name node ${i} (${hostPort(node.host, node.redisPort)}) as master; host AND port must match.`,
            `backend sentinel_vote_${i}`,
            "    option tcp-check",
            "    tcp-check connect",
            `    ${auth}`,
            `    ${okExpect}`,
            `    tcp-check send SENTINEL\\ get-master-addr-by-name\\ ${layout.masterName}\\r\\n`,
            // No QUIT/+OK afterwards: a 7.0 Sentinel answers QUIT with an error.
            `    tcp-check expect ${h.fastFail ? "min-recv 5 " : ""}binary ${hex(sentinelMasterReply(node))}`,
            ...layout.nodes.map((s, j) => `    server S${j} ${hostPort(s.host, s.sentinelPort)} ${checkOpts}${serverOpts}`),
            "",
        );
    });

    // A killed master refuses connections: DOWN on the first refusal, not at the next check.
    const markDown = h.markDownOnConnectError ? " observe layer4 error-limit 1 on-error mark-down" : "";
    const voted = (i: number): string => votedMaster(layout, i, "");
    out.push(
        "backend redis_master",
        "    option tcp-check",
        "    tcp-check connect",
        `    ${auth}`,
        `    ${okExpect}`,
        "    tcp-check send info\\ replication\\r\\n",
        `    tcp-check expect ${h.fastFail ? "min-recv 40 " : ""}string role:master`,
        "    tcp-check send QUIT\\r\\n",
        "    # No fallback: without a voted master the connection is refused, never load-balanced",
        "    # onto a node that merely claims role:master (a restarted or cut-off old master).",
        // A connection refused by a dead master fails at once instead of after 1 s retries to it;
        // the refusal marks the server DOWN, so the client's next connection is held.
        ...(h.markDownOnConnectError ? ["    retries 0"] : []),
        ...layout.nodes.map((_, i) => `    tcp-request content accept if ${voted(i)}`),
        "    tcp-request content reject",
        ...layout.nodes.map((_, i) => `    use-server R${i} if ${voted(i)}`),
        ...layout.nodes.map(
            (node, i) =>
                `    server R${i} ${hostPort(node.host, node.redisPort)} ${checkOpts}${markDown}${h.shutdownSessions ? " on-marked-down shutdown-sessions" : ""}${serverOpts}`,
        ),
        "",
    );
    return out.join("\n");
}

/** Node i is up as master AND a quorum of Sentinels names it (`backend` qualifies R<i> outside its backend). */
function votedMaster(layout: RedisHaLayout, i: number, backend: "" | "redis_master/"): string {
    return `{ srv_is_up(${backend}R${i}) } { nbsrv(sentinel_vote_${i}) ge ${layout.quorum} }`;
}

/** How often a held connection looks for a voted master again. */
export const HOLD_RECHECK_MS = 250;

/**
 * The frontend, and the hops that hold a connection while no master is voted. HAProxy evaluates
 * `tcp-request content` rules only when data arrives and when the inspect delay ends, so one
 * long delay would keep every held connection for the whole delay. Instead each hop waits
 * HOLD_RECHECK_MS, then hands the connection on to the next hop (an abstract socket of this
 * HAProxy): a held connection reaches the new master at most HOLD_RECHECK_MS after the vote,
 * and the last hop refuses it (backend redis_master) once holdWithoutMasterMs has passed.
 */
function holdChain(layout: RedisHaLayout): string[] {
    const h = layout.haproxy;
    const hops = h.holdWithoutMasterMs > 0 ? Math.ceil(h.holdWithoutMasterMs / HOLD_RECHECK_MS) : 0;
    if (hops === 0) return ["frontend redis_master", `    bind ${hostPort(h.bind, h.port)}`, "    default_backend redis_master"];
    const votedAny = layout.nodes.map((_, i) => votedMaster(layout, i, "redis_master/")).join(" || ");
    // Abstract sockets are per network namespace: the port keeps two loopback HAProxies apart.
    const hopAddress = (k: number): string => `abns@redis-hold-${h.port}-${k}`;
    const out = [
        `# Without a voted master a new connection is held up to ${ms(h.holdWithoutMasterMs)}, looked at again every ${ms(HOLD_RECHECK_MS)}.`,
    ];
    for (let k = 0; k < hops; k++) {
        const last = k === hops - 1;
        out.push(
            k === 0 ? "frontend redis_master" : `frontend redis_hold_${k}`,
            `    bind ${k === 0 ? hostPort(h.bind, h.port) : hopAddress(k)}`,
            `    tcp-request inspect-delay ${ms(HOLD_RECHECK_MS)}`,
            `    tcp-request content accept if ${votedAny}`,
            "    tcp-request content accept if WAIT_END",
            `    use_backend redis_master if ${votedAny}`,
            `    default_backend ${last ? "redis_master" : `redis_hold_${k + 1}`}`,
            "",
        );
        if (!last) out.push(`backend redis_hold_${k + 1}`, `    server next ${hopAddress(k + 1)}`, "");
    }
    return out.slice(0, -1);
}

// ---------------------------------------------------------------------------------------------
// Shell scripts (POSIX sh: dash on Debian, busybox ash in redis:7.2-alpine)

interface ScriptContext {
    standalone: boolean;
    masterName: string;
    quorum: number;
    hosts: string[];
    redisPorts: number[];
    sentinelPorts: number[];
    paths: RedisHaPaths;
    cliTimeoutSeconds: number;
    replicaPriority: number;
    replicaSyncWaitSeconds: number;
    emptyMasterWaitSeconds: number;
}

function haContext(layout: RedisHaLayout): ScriptContext {
    return {
        standalone: false,
        masterName: layout.masterName,
        quorum: layout.quorum,
        hosts: layout.nodes.map((n) => n.host),
        redisPorts: layout.nodes.map((n) => n.redisPort),
        sentinelPorts: layout.nodes.map((n) => n.sentinelPort),
        paths: layout.paths,
        cliTimeoutSeconds: layout.cliTimeoutSeconds,
        replicaPriority: layout.replicaPriority,
        replicaSyncWaitSeconds: layout.replicaSyncWaitSeconds,
        emptyMasterWaitSeconds: emptyMasterWaitSeconds(layout),
    };
}

function standaloneContext(layout: RedisStandaloneLayout): ScriptContext {
    return {
        standalone: true,
        masterName: DEFAULT_MASTER_NAME,
        quorum: 1,
        hosts: [layout.host],
        redisPorts: [layout.port],
        sentinelPorts: [0],
        paths: layout.paths,
        cliTimeoutSeconds: layout.cliTimeoutSeconds,
        replicaPriority: 100,
        replicaSyncWaitSeconds: 3600,
        emptyMasterWaitSeconds: 0,
    };
}

/** Variables and helpers shared by every script; the cluster part only for HA layouts. */
function prelude(ctx: ScriptContext, scriptName: string, purpose: string): string {
    const e = SCRIPT_ENV;
    const cluster = ctx.standalone ? "" : clusterHelpers(ctx);
    return `#!/bin/sh
# ${purpose}
# Rendered from components/redis/haConfig.ts; change the generator, not this file.
set -u
# Runtime copies hold the password.
umask 077

SCRIPT_NAME='${scriptName}'
PASSWORD_PLACEHOLDER='${PASSWORD_PLACEHOLDER}'
CLI_TIMEOUT=${ctx.cliTimeoutSeconds}
TEMPLATE_DIR="\${${e.templateDir}:-${ctx.paths.templateDir}}"
CONFIG_DIR="\${${e.configDir}:-${ctx.paths.configDir}}"
DATA_DIR="\${${e.dataDir}:-${ctx.paths.dataDir}}"
PASSWORD_FILE="\${${e.passwordFile}:-${ctx.paths.passwordFile}}"
LOCAL_HOST="\${${e.localHost}:-127.0.0.1}"
REDIS_PASSWORD=''

log() { printf '%s %s: %s\\n' "$(date '+%Y-%m-%dT%H:%M:%S')" "$SCRIPT_NAME" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
now() { date +%s; }

# rcli HOST PORT ARGS...: one bounded redis-cli call, password from the environment, no stderr.
if command -v timeout >/dev/null 2>&1; then
    rcli() { _h=$1; _p=$2; shift 2; REDISCLI_AUTH="$REDIS_PASSWORD" timeout "$CLI_TIMEOUT" redis-cli -h "$_h" -p "$_p" "$@" 2>/dev/null; }
else
    rcli() { _h=$1; _p=$2; shift 2; REDISCLI_AUTH="$REDIS_PASSWORD" redis-cli -h "$_h" -p "$_p" "$@" 2>/dev/null; }
fi

load_password() {
    [ -r "$PASSWORD_FILE" ] || die "cannot read the password file $PASSWORD_FILE (mount the Secret there or set ${e.passwordFile})"
    REDIS_PASSWORD=$(cat "$PASSWORD_FILE") || die "cannot read the password file $PASSWORD_FILE"
    [ -n "$REDIS_PASSWORD" ] || die "the password file $PASSWORD_FILE is empty"
    case "$REDIS_PASSWORD" in
        *[!A-Za-z0-9._~+/=@:,-]*) die "the password in $PASSWORD_FILE has unsupported characters (allowed: letters, digits and ._~+/=@:,-)" ;;
    esac
}
${cluster}`;
}

/** The node table and the Sentinel queries of an HA layout. */
function clusterHelpers(ctx: ScriptContext): string {
    const e = SCRIPT_ENV;
    return `
MASTER_NAME='${ctx.masterName}'
QUORUM=${ctx.quorum}
NODE_COUNT=${ctx.hosts.length}
NODE_HOSTS='${ctx.hosts.join(" ")}'
NODE_REDIS_PORTS='${ctx.redisPorts.join(" ")}'
NODE_SENTINEL_PORTS='${ctx.sentinelPorts.join(" ")}'
REPLICA_PRIORITY=${ctx.replicaPriority}

# nth INDEX 'w0 w1 w2'
nth() {
    _n=$1
    for _w in $2; do
        if [ "$_n" -eq 0 ]; then printf '%s\\n' "$_w"; return 0; fi
        _n=$((_n - 1))
    done
    return 1
}

# Ordinal from ${e.ordinal}, else from a StatefulSet HOSTNAME such as redis-node-2.
node_ordinal() {
    if [ -n "\${${e.ordinal}:-}" ]; then
        _o=$${e.ordinal}; _src="${e.ordinal}=$${e.ordinal}"
    else
        _hn="\${HOSTNAME:-}"
        [ -n "$_hn" ] || _hn=$(hostname 2>/dev/null || true)
        _o=\${_hn##*-}; _src="HOSTNAME=$_hn"
    fi
    case "$_o" in
        ''|*[!0-9]*) log "ERROR: cannot derive the node ordinal from $_src: set ${e.ordinal} or use a HOSTNAME ending in -<ordinal>"; return 1 ;;
    esac
    while [ "\${#_o}" -gt 1 ] && [ "\${_o#0}" != "$_o" ]; do _o=\${_o#0}; done
    if [ "$_o" -ge "$NODE_COUNT" ]; then
        log "ERROR: ordinal $_o ($_src) is out of range: the layout has $NODE_COUNT node(s)"
        return 1
    fi
    printf '%s\\n' "$_o"
}

is_self() { [ "$1" = "$MY_HOST" ] && [ "$2" = "$MY_PORT" ]; }

# One "host port" line per Sentinel that answers.
sentinel_answers() {
    _i=0
    while [ "$_i" -lt "$NODE_COUNT" ]; do
        _sh=$(nth "$_i" "$NODE_HOSTS"); _sp=$(nth "$_i" "$NODE_SENTINEL_PORTS")
        _out=$(rcli "$_sh" "$_sp" SENTINEL get-master-addr-by-name "$MASTER_NAME") || _out=''
        _mh=$(printf '%s\\n' "$_out" | sed -n '1p' | tr -d '\\r')
        _mp=$(printf '%s\\n' "$_out" | sed -n '2p' | tr -d '\\r')
        case "$_mp" in
            ''|*[!0-9]*) ;;
            *) if [ -n "$_mh" ]; then printf '%s %s\\n' "$_mh" "$_mp"; fi ;;
        esac
        _i=$((_i + 1))
    done
}

# "host port votes" of the master most Sentinels name; fails when none answers.
sentinel_master() {
    _answers=$(sentinel_answers)
    [ -n "$_answers" ] || return 1
    printf '%s\\n' "$_answers" | sort | uniq -c | sort -rn | head -n 1 | {
        read -r _c _h _p
        printf '%s %s %s\\n' "$_h" "$_p" "$_c"
    }
}
`;
}

/** Case branch of the template loops: the password in place of the placeholder. */
const RENDER_PASSWORD_CASE = `*"$PASSWORD_PLACEHOLDER"*) printf '%s%s%s\\n' "\${_line%%"$PASSWORD_PLACEHOLDER"*}" "$REDIS_PASSWORD" "\${_line#*"$PASSWORD_PLACEHOLDER"}" ;;`;

function standaloneInitScript(ctx: ScriptContext): string {
    const f = REDIS_HA_FILES;
    return `${prelude(ctx, f.init, "Writes the runtime redis.conf of a standalone Redis (no Sentinel, always master).")}
[ "$#" -eq 0 ] || [ "$*" = redis ] || die "unknown argument '$1' (usage: $SCRIPT_NAME [redis])"
load_password
mkdir -p "$CONFIG_DIR" "$DATA_DIR" || die "cannot create $CONFIG_DIR or $DATA_DIR"
[ -r "$TEMPLATE_DIR/${f.redisConf}" ] || die "template $TEMPLATE_DIR/${f.redisConf} not found (mount the rendered files at $TEMPLATE_DIR or set ${SCRIPT_ENV.templateDir})"
_dst="$CONFIG_DIR/${f.redisConf}"
_tmp="$_dst.tmp.$$"
while IFS= read -r _line || [ -n "$_line" ]; do
    case "$_line" in
        ${RENDER_PASSWORD_CASE}
        *) printf '%s\\n' "$_line" ;;
    esac
done < "$TEMPLATE_DIR/${f.redisConf}" > "$_tmp" || die "cannot write $_tmp"
{
    echo ''
    echo '# Node-specific settings written by init.sh.'
    echo "port ${ctx.redisPorts[0]}"
    echo "dir \\"$DATA_DIR\\""
} >> "$_tmp" || die "cannot write $_tmp"
mv -f "$_tmp" "$_dst" || die "cannot write $_dst"
log "wrote $_dst"
exit 0
`;
}

function initScript(ctx: ScriptContext): string {
    const files = REDIS_HA_FILES;
    return `${prelude(ctx, files.init, "Decides whether this node starts as master or replica and writes the runtime configs.\n# Usage: init.sh [redis] [sentinel]   (default: both)")}
has_local_data() {
    [ -s "$DATA_DIR/appendonlydir/appendonly.aof.manifest" ] || [ -s "$DATA_DIR/dump.rdb" ]
}

# Whether another node is up and holds keys.
peers_have_data() {
    _i=0
    while [ "$_i" -lt "$NODE_COUNT" ]; do
        if [ "$_i" -ne "$ORDINAL" ]; then
            if rcli "$(nth "$_i" "$NODE_HOSTS")" "$(nth "$_i" "$NODE_REDIS_PORTS")" INFO keyspace | grep -q '^db[0-9]*:keys=[1-9]'; then
                return 0
            fi
        fi
        _i=$((_i + 1))
    done
    return 1
}

# "host port" of another node that is up and reports role:master.
peer_master() {
    _i=0
    while [ "$_i" -lt "$NODE_COUNT" ]; do
        if [ "$_i" -ne "$ORDINAL" ]; then
            _ph=$(nth "$_i" "$NODE_HOSTS"); _pp=$(nth "$_i" "$NODE_REDIS_PORTS")
            if rcli "$_ph" "$_pp" INFO replication | grep -q '^role:master'; then
                printf '%s %s\\n' "$_ph" "$_pp"
                return 0
            fi
        fi
        _i=$((_i + 1))
    done
    return 1
}

# Sets MASTER_HOST, MASTER_PORT, MASTER_SOURCE: the Sentinels' answer, else a peer that is
# master, else node 0 (a fresh cluster).
decide_master() {
    if _m=$(sentinel_master); then
        set -- $_m
        MASTER_HOST=$1; MASTER_PORT=$2; MASTER_SOURCE="sentinels ($3 agree)"
        return 0
    fi
    if _m=$(peer_master); then
        set -- $_m
        MASTER_HOST=$1; MASTER_PORT=$2; MASTER_SOURCE='a peer reporting role:master (no Sentinel answered)'
        return 0
    fi
    MASTER_HOST=$(nth 0 "$NODE_HOSTS"); MASTER_PORT=$(nth 0 "$NODE_REDIS_PORTS")
    MASTER_SOURCE='default: node 0 (no Sentinel and no master answered)'
}

# An empty node must never become the master of peers that hold data: their full resync
# would wipe them. Wait for Sentinel to promote a replica that has the data, else give up.
guard_empty_master() {
    if has_local_data || ! peers_have_data; then
        return 0
    fi
    case "$MASTER_SOURCE" in
        sentinels*) ;;
        *) die "this node has no data but peers do, and no Sentinel answered: refusing to start as master (start the Sentinels, or restart a node that has the data first)" ;;
    esac
    log "Sentinels name this empty node as master while peers hold data: waiting up to ${ctx.emptyMasterWaitSeconds}s for a failover"
    _deadline=$(( $(now) + ${ctx.emptyMasterWaitSeconds} ))
    while [ "$(now)" -lt "$_deadline" ]; do
        sleep 1
        if _m=$(sentinel_master); then
            set -- $_m
            if ! is_self "$1" "$2"; then
                MASTER_HOST=$1; MASTER_PORT=$2; MASTER_SOURCE="sentinels ($3 agree) after failover"
                return 0
            fi
        fi
    done
    die "Sentinels still name this empty node as master after ${ctx.emptyMasterWaitSeconds}s: refusing to start as an empty master over peers that hold data"
}

# Copies a template, putting the password in place of the placeholder and the current master
# into \`sentinel monitor\`.
render_template() {
    [ -r "$1" ] || die "template $1 not found (mount the rendered files at $TEMPLATE_DIR or set ${SCRIPT_ENV.templateDir})"
    while IFS= read -r _line || [ -n "$_line" ]; do
        case "$_line" in
            ${RENDER_PASSWORD_CASE}
            "sentinel monitor $MASTER_NAME "*)
                printf 'sentinel monitor %s %s %s %s\\n' "$MASTER_NAME" "$MASTER_HOST" "$MASTER_PORT" "$QUORUM" ;;
            *)
                printf '%s\\n' "$_line" ;;
        esac
    done < "$1"
}

write_redis_conf() {
    _dst="$CONFIG_DIR/${files.redisConf}"
    _tmp="$_dst.tmp.$$"
    render_template "$TEMPLATE_DIR/${files.redisConf}" > "$_tmp"
    {
        echo ''
        echo "# Node-specific settings written by init.sh: ordinal $ORDINAL, $ROLE ($MASTER_SOURCE)."
        echo "port $MY_PORT"
        echo "dir \\"$DATA_DIR\\""
        echo "replica-announce-ip $MY_HOST"
        echo "replica-announce-port $MY_PORT"
        if [ "$ROLE" = replica ]; then
            echo "replicaof $MASTER_HOST $MASTER_PORT"
            # Never promoted before its first sync completes; start-redis.sh raises it then.
            echo "replica-priority 0"
        fi
    } >> "$_tmp" || die "cannot write $_tmp"
    mv -f "$_tmp" "$_dst" || die "cannot write $_dst"
    log "wrote $_dst: $ROLE, master $MASTER_HOST:$MASTER_PORT from $MASTER_SOURCE"
}

write_sentinel_conf() {
    _dst="$CONFIG_DIR/${files.sentinelConf}"
    _tmp="$_dst.tmp.$$"
    # Keep this Sentinel's identity across restarts; never take another Sentinel's.
    _myid=''
    if [ -f "$_dst" ]; then
        _myid=$(sed -n 's/^sentinel myid \\([0-9a-f]\\{40\\}\\)$/\\1/p' "$_dst" | head -n 1)
    fi
    render_template "$TEMPLATE_DIR/${files.sentinelConf}" > "$_tmp"
    {
        echo ''
        echo "# Node-specific settings written by init.sh: ordinal $ORDINAL."
        echo "port $MY_SENTINEL_PORT"
        echo "dir \\"$CONFIG_DIR\\""
        echo "sentinel announce-ip $MY_HOST"
        echo "sentinel announce-port $MY_SENTINEL_PORT"
        if [ -n "$_myid" ]; then echo "sentinel myid $_myid"; fi
    } >> "$_tmp" || die "cannot write $_tmp"
    mv -f "$_tmp" "$_dst" || die "cannot write $_dst"
    log "wrote $_dst: monitoring $MASTER_HOST:$MASTER_PORT from $MASTER_SOURCE"
}

WANT_REDIS=0
WANT_SENTINEL=0
[ "$#" -gt 0 ] || set -- redis sentinel
for _arg in "$@"; do
    case "$_arg" in
        redis) WANT_REDIS=1 ;;
        sentinel) WANT_SENTINEL=1 ;;
        *) die "unknown argument '$_arg' (usage: $SCRIPT_NAME [redis] [sentinel])" ;;
    esac
done

load_password
ORDINAL=$(node_ordinal) || exit 1
MY_HOST=$(nth "$ORDINAL" "$NODE_HOSTS")
MY_PORT=$(nth "$ORDINAL" "$NODE_REDIS_PORTS")
MY_SENTINEL_PORT=$(nth "$ORDINAL" "$NODE_SENTINEL_PORTS")
mkdir -p "$CONFIG_DIR" "$DATA_DIR" || die "cannot create $CONFIG_DIR or $DATA_DIR"
[ -w "$CONFIG_DIR" ] || die "$CONFIG_DIR is not writable (Redis and Sentinel rewrite their runtime config)"

decide_master
ROLE=replica
if is_self "$MASTER_HOST" "$MASTER_PORT"; then
    ROLE=master
    if [ "$WANT_REDIS" -eq 1 ]; then
        guard_empty_master
        is_self "$MASTER_HOST" "$MASTER_PORT" || ROLE=replica
    fi
fi

if [ "$WANT_REDIS" -eq 1 ]; then write_redis_conf; fi
if [ "$WANT_SENTINEL" -eq 1 ]; then write_sentinel_conf; fi
exit 0
`;
}

function startRedisScript(ctx: ScriptContext): string {
    const f = REDIS_HA_FILES;
    const watcher = ctx.standalone
        ? ""
        : `
# Once the first sync is complete the replica may be promoted: give it its real priority.
raise_priority_when_synced() {
    _redis_pid=$1
    _deadline=$(( $(now) + ${ctx.replicaSyncWaitSeconds} ))
    while [ "$(now)" -lt "$_deadline" ]; do
        sleep 1
        kill -0 "$_redis_pid" 2>/dev/null || return 0
        _info=$(rcli "$LOCAL_HOST" "$MY_PORT" INFO replication) || continue
        if printf '%s\\n' "$_info" | grep -q '^role:master' || {
            printf '%s\\n' "$_info" | grep -q '^master_link_status:up' &&
            printf '%s\\n' "$_info" | grep -q '^master_sync_in_progress:0'
        }; then
            if [ "$(rcli "$LOCAL_HOST" "$MY_PORT" CONFIG SET replica-priority "$REPLICA_PRIORITY")" = OK ]; then
                log "first sync done: replica-priority $REPLICA_PRIORITY"
                return 0
            fi
        fi
    done
    log "WARNING: no completed sync within ${ctx.replicaSyncWaitSeconds}s: replica-priority stays 0 (never promoted) until the next restart"
}

if grep -q '^replica-priority 0$' "$CONF"; then
    load_password
    ORDINAL=$(node_ordinal) || exit 1
    MY_PORT=$(nth "$ORDINAL" "$NODE_REDIS_PORTS")
    # $$ is this shell, which becomes redis-server at the exec below.
    raise_priority_when_synced "$$" &
fi
`;
    return `${prelude(ctx, f.startRedis, "Container entrypoint of redis-server: decides the role (init.sh redis), then execs redis-server.")}
sh "$TEMPLATE_DIR/${f.init}" redis || exit 1
CONF="$CONFIG_DIR/${f.redisConf}"
${watcher}
exec redis-server "$CONF"
`;
}

function startSentinelScript(ctx: ScriptContext): string {
    const f = REDIS_HA_FILES;
    return `${prelude(ctx, f.startSentinel, "Container entrypoint of Sentinel: writes its runtime config (init.sh sentinel), then execs Sentinel.")}
sh "$TEMPLATE_DIR/${f.init}" sentinel || exit 1
if command -v redis-sentinel >/dev/null 2>&1; then
    exec redis-sentinel "$CONFIG_DIR/${f.sentinelConf}"
fi
exec redis-server "$CONFIG_DIR/${f.sentinelConf}" --sentinel
`;
}

function preStopScript(layout: RedisHaLayout): string {
    const ctx = haContext(layout);
    const t = preStopTimings(layout);
    return `${prelude(
        ctx,
        REDIS_HA_FILES.preStop,
        "preStop hook of the redis-server container. On the master: pause writes, let the replicas\n# catch up, have a Sentinel fail over, wait (bounded) until another node is master.\n# Without the pause, writes acknowledged during the switch are lost.",
    )}
load_password
ORDINAL=$(node_ordinal) || exit 0
MY_HOST=$(nth "$ORDINAL" "$NODE_HOSTS")
MY_PORT=$(nth "$ORDINAL" "$NODE_REDIS_PORTS")

field() { printf '%s\\n' "$1" | tr -d '\\r' | sed -n "s/^$2:\\\\(.*\\\\)$/\\\\1/p" | head -n 1; }

INFO=$(rcli "$LOCAL_HOST" "$MY_PORT" INFO replication) || INFO=''
[ "$(field "$INFO" role)" = master ] || { log "not the master: nothing to do"; exit 0; }
REPLICAS=$(field "$INFO" connected_slaves)
case "$REPLICAS" in ''|0|*[!0-9]*) log "master without replicas: no failover possible"; exit 0 ;; esac

# Hold writes until the pod is gone: anything written from now on could be lost by the switch.
[ "$(rcli "$LOCAL_HOST" "$MY_PORT" CLIENT PAUSE ${t.pauseMs} WRITE)" = OK ] || log "WARNING: CLIENT PAUSE failed"
unpause() { rcli "$LOCAL_HOST" "$MY_PORT" CLIENT UNPAUSE >/dev/null; }

# The replica Sentinel promotes must hold every write made before the pause. Ask the replicas
# themselves: the offsets the master knows lag by up to a second.
INFO=$(rcli "$LOCAL_HOST" "$MY_PORT" INFO replication) || INFO=''
_target=$(field "$INFO" master_repl_offset)
_replicas=$(printf '%s\\n' "$INFO" | tr -d '\\r' | sed -n 's/^slave[0-9]*:ip=\\([^,]*\\),port=\\([0-9]*\\),.*/\\1 \\2/p')
_deadline=$(( $(now) + ${t.catchUpSeconds} ))
while :; do
    _behind=0
    while read -r _rh _rp; do
        [ -n "$_rh" ] || continue
        _ro=$(field "$(rcli "$_rh" "$_rp" INFO replication)" slave_repl_offset)
        case "$_ro:$_target" in
            *[!0-9:]*|:*|*:) _behind=$((_behind + 1)) ;;
            *) [ "$_ro" -ge "$_target" ] || _behind=$((_behind + 1)) ;;
        esac
    done <<EOF_REPLICAS
$_replicas
EOF_REPLICAS
    [ "$_behind" -eq 0 ] && break
    [ "$(now)" -lt "$_deadline" ] || { log "WARNING: $_behind replica(s) still behind after ${t.catchUpSeconds}s"; break; }
    sleep 0.05
done

# Prefer a Sentinel on another node: this pod's own Sentinel is being stopped too.
_asked=''
for _i in $(_j=0; while [ "$_j" -lt "$NODE_COUNT" ]; do [ "$_j" -ne "$ORDINAL" ] && echo "$_j"; _j=$((_j + 1)); done) "$ORDINAL"; do
    _out=$(rcli "$(nth "$_i" "$NODE_HOSTS")" "$(nth "$_i" "$NODE_SENTINEL_PORTS")" SENTINEL FAILOVER "$MASTER_NAME") || _out=''
    if [ "$_out" = OK ]; then _asked=$_i; break; fi
    log "Sentinel $_i refused the failover: \${_out:-no answer}"
done
if [ -z "$_asked" ]; then
    log "no Sentinel accepted the failover: resuming writes"
    unpause
    exit 0
fi
log "Sentinel $_asked is failing over $MASTER_NAME"

# Done once a majority of Sentinels (what HAProxy follows) names another node.
_deadline=$(( $(now) + ${t.failoverWaitSeconds} ))
while [ "$(now)" -lt "$_deadline" ]; do
    if _m=$(sentinel_master); then
        set -- $_m
        if ! is_self "$1" "$2" && [ "$3" -ge "$QUORUM" ]; then
            log "new master $1:$2 ($3 Sentinels agree)"
            # Paused clients would wait for the shutdown; let them reconnect to the new master now.
            # Their paused writes are dropped, never applied here.
            rcli "$LOCAL_HOST" "$MY_PORT" CLIENT KILL TYPE normal >/dev/null
            exit 0
        fi
    fi
    sleep 0.2
done
log "WARNING: no new master after ${t.failoverWaitSeconds}s: resuming writes"
unpause
exit 0
`;
}

// ---------------------------------------------------------------------------------------------
// Entry points

/**
 * Every file of the HA deployment, keyed by file name: redis.conf, sentinel.conf and
 * haproxy.cfg (templates with the password placeholder), init.sh, start-redis.sh,
 * start-sentinel.sh and prestop.sh. Throws RedisLayoutError on an invalid layout.
 */
export function renderRedisHaFiles(layout: RedisHaLayout): Record<string, string> {
    assertValidRedisHaLayout(layout);
    const ctx = haContext(layout);
    const f = REDIS_HA_FILES;
    return {
        [f.redisConf]: redisConf({
            bind: layout.bind,
            minReplicasToWrite: layout.minReplicasToWrite,
            minReplicasMaxLag: layout.minReplicasMaxLag,
            replDisklessSyncDelay: layout.replDisklessSyncDelay,
            disabledCommands: layout.disabledCommands,
            replicated: true,
        }),
        [f.sentinelConf]: sentinelConf(layout),
        [f.haproxyCfg]: haproxyCfg(layout),
        [f.init]: initScript(ctx),
        [f.startRedis]: startRedisScript(ctx),
        [f.startSentinel]: startSentinelScript(ctx),
        [f.preStop]: preStopScript(layout),
    };
}

/** redis.conf, init.sh and start-redis.sh of a single node without Sentinel (min-replicas-to-write 0). */
export function renderStandaloneRedisFiles(layout: RedisStandaloneLayout): Record<string, string> {
    const problems = validateStandaloneRedisLayout(layout);
    if (problems.length > 0) throw new RedisLayoutError(problems);
    const ctx = standaloneContext(layout);
    const f = REDIS_HA_FILES;
    return {
        [f.redisConf]: redisConf({
            bind: layout.bind,
            minReplicasToWrite: 0,
            minReplicasMaxLag: 10,
            replDisklessSyncDelay: 0,
            disabledCommands: layout.disabledCommands,
            replicated: false,
        }),
        [f.init]: standaloneInitScript(ctx),
        [f.startRedis]: startRedisScript(ctx),
    };
}
