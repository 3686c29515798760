/**
 * The layout of a Redis deployment (addresses, timings, paths) and the names shared by every
 * generated file. Pure: the same layout serves Kubernetes (stable DNS names, every port
 * 6379/26379) and the loopback test harness (127.0.0.1, distinct ports).
 *
 * No generated file contains the password: files carry PASSWORD_PLACEHOLDER and init.sh
 * substitutes it at start from a mounted password file into writable runtime copies.
 */
/** Token that init.sh replaces with the password read from the password file. */
export const PASSWORD_PLACEHOLDER = "__REDIS_HA_PASSWORD__";

/** HAProxy reads the password from this environment variable (`"AUTH ${AUTH}"` in tcp-checks). */
export const HAPROXY_PASSWORD_ENV = "AUTH";

/** Passwords whose characters the scripts accept (lib.sh checks the same set). */
export { REDIS_PASSWORD_PATTERN } from "../settings/redisPassword";

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

/**
 * Keys of the records returned by renderRedisHaFiles and renderStandaloneRedisFiles: the file
 * names in the ConfigMap, on disk in the loopback harness, and in settings.env for the scripts.
 */
export const REDIS_HA_FILES = {
    redisConf: "redis.conf",
    sentinelConf: "sentinel.conf",
    haproxyCfg: "haproxy.cfg",
    /** HAProxy's Lua task that cuts the sessions of a master that lost its vote. */
    haproxyFence: "fence.lua",
    /** Generated variables that every script sources. */
    settings: "settings.env",
    /** Shell functions shared by every script. */
    lib: "lib.sh",
    /** Shell functions of the HA scripts (node table, Sentinel queries). */
    cluster: "cluster.sh",
    init: "init.sh",
    startRedis: "start-redis.sh",
    startSentinel: "start-sentinel.sh",
    preStop: "prestop.sh",
} as const;

const DEFAULT_MASTER_NAME = "mymaster";

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
    /**
     * A master without a replica within min-replicas-max-lag is DOWN (`min_slaves_good_slaves:0`):
     * it refuses writes anyway, and with shutdownSessions its clients' connections are cut, so that
     * pooled ones leave a master cut off by a partition for the one the Sentinels elected.
     */
    downWithoutGoodReplica: boolean;
    /**
     * A Sentinel's vote counts only while it sees its master healthy (no s_down, o_down or failover
     * in progress), one Sentinel that sees the master o_down or fails it over vetoes it, and
     * fence.lua cuts the sessions of a master that is no longer voted: pooled connections leave a
     * master the Sentinels are replacing before a replica still attached to it can acknowledge
     * writes that the failover discards.
     */
    fenceUnvotedMaster: boolean;
}

/** The knobs that decide failover speed; the rest of a layout is topology. */
export interface RedisHaTimings {
    sentinel: SentinelTimings;
    haproxy: HaproxyCheckTimings;
    /** Seconds a master waits before starting a diskless full sync (Redis default 5). */
    replDisklessSyncDelay: number;
    minReplicasMaxLag: number;
}

/** The HAProxy part of a layout: its checks, listen address and timeouts. */
export interface HaproxyLayout extends HaproxyCheckTimings {
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
    haproxy: HaproxyLayout;
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
        downWithoutGoodReplica: true,
        fenceUnvotedMaster: true,
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
        downWithoutGoodReplica: false,
        fenceUnvotedMaster: false,
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

export function standaloneRedisLayout(o: {
    host: string;
    port?: number;
    bind?: string;
    paths?: Partial<RedisHaPaths>;
    disabledCommands?: string[];
}): RedisStandaloneLayout {
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

export function preStopTimings(layout: RedisHaLayout): { catchUpSeconds: number; failoverWaitSeconds: number; pauseMs: number } {
    const catchUpSeconds = 2;
    const failoverWaitSeconds = Math.ceil(layout.sentinel.failoverTimeout / 1000) + 5;
    // Writes stay paused until the pod is gone: the pause must outlive the whole hook.
    const pauseMs = (catchUpSeconds + failoverWaitSeconds + layout.nodes.length * layout.cliTimeoutSeconds * 3 + 10) * 1000;
    return { catchUpSeconds, failoverWaitSeconds, pauseMs };
}

/** Seconds init.sh waits for Sentinel to fail over before refusing to start as an empty master. */
export function emptyMasterWaitSeconds(layout: RedisHaLayout): number {
    return Math.ceil((2 * layout.sentinel.failoverTimeout + layout.sentinel.downAfterMilliseconds) / 1000) + 10;
}
