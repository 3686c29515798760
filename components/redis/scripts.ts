/**
 * The shell scripts (POSIX sh: dash on Debian, busybox ash in redis:7.2-alpine) and the one
 * generated file they read their settings from. The scripts live as real files under
 * `scripts/` and go into the ConfigMap unchanged; every value that depends on the layout is in
 * settings.env, which each script sources from its own directory.
 */
import * as fs from "fs";
import * as path from "path";
import {
    PASSWORD_PLACEHOLDER,
    REDIS_HA_FILES,
    RedisHaLayout,
    RedisHaPaths,
    RedisStandaloneLayout,
    SCRIPT_ENV,
    emptyMasterWaitSeconds,
    preStopTimings,
} from "./layout";

/** Where the script files are, relative to this module. */
export const SCRIPTS_DIR = path.join(__dirname, "scripts");

/** ConfigMap key -> source file under scripts/, per shape. */
export const HA_SCRIPT_SOURCES: Record<string, string> = {
    [REDIS_HA_FILES.lib]: "lib.sh",
    [REDIS_HA_FILES.cluster]: "cluster.sh",
    [REDIS_HA_FILES.init]: "init.sh",
    [REDIS_HA_FILES.startRedis]: "start-redis.sh",
    [REDIS_HA_FILES.startSentinel]: "start-sentinel.sh",
    [REDIS_HA_FILES.preStop]: "prestop.sh",
};

export const STANDALONE_SCRIPT_SOURCES: Record<string, string> = {
    [REDIS_HA_FILES.lib]: "lib.sh",
    [REDIS_HA_FILES.init]: "init-standalone.sh",
    [REDIS_HA_FILES.startRedis]: "start-redis.sh",
};

/** The script files of a shape, keyed by their ConfigMap name, read as they are. */
export function readScripts(sources: Record<string, string>): Record<string, string> {
    return Object.fromEntries(Object.entries(sources).map(([key, file]) => [key, fs.readFileSync(path.join(SCRIPTS_DIR, file), "utf8")]));
}

type Value = string | number;

/** `NAME='value'` for literals, `NAME=123` for numbers. Values are validated: no quotes in them. */
function assignments(vars: Record<string, Value>): string[] {
    return Object.entries(vars).map(([k, v]) => (typeof v === "number" ? `${k}=${v}` : `${k}='${v}'`));
}

/** `NAME="${ENV_VAR:-default}"`: the environment overrides the layout (the loopback harness does). */
function fromEnv(name: string, envVar: string, fallback: string): string {
    return `${name}="\${${envVar}:-${fallback}}"`;
}

/** Settings every script reads, whatever the shape. */
function commonSettings(paths: RedisHaPaths, cliTimeoutSeconds: number): string[] {
    const e = SCRIPT_ENV;
    return [
        ...assignments({
            PASSWORD_PLACEHOLDER,
            CLI_TIMEOUT: cliTimeoutSeconds,
            REDIS_CONF: REDIS_HA_FILES.redisConf,
            INIT_SCRIPT: REDIS_HA_FILES.init,
            TEMPLATE_DIR_VAR: e.templateDir,
            PASSWORD_FILE_VAR: e.passwordFile,
        }),
        fromEnv("TEMPLATE_DIR", e.templateDir, paths.templateDir),
        fromEnv("CONFIG_DIR", e.configDir, paths.configDir),
        fromEnv("DATA_DIR", e.dataDir, paths.dataDir),
        fromEnv("PASSWORD_FILE", e.passwordFile, paths.passwordFile),
        fromEnv("LOCAL_HOST", e.localHost, "127.0.0.1"),
    ];
}

function settingsFile(lines: string[]): string {
    const header = ["# shellcheck shell=sh", "# Settings of the Redis scripts, generated from the layout by components/redis/scripts.ts."];
    return [...header, ...lines, ""].join("\n");
}

/** settings.env of an HA layout: the node table, the Sentinel quorum and the scripts' bounded waits. */
export function haSettings(layout: RedisHaLayout): string {
    const t = preStopTimings(layout);
    return settingsFile([
        ...commonSettings(layout.paths, layout.cliTimeoutSeconds),
        ...assignments({
            SENTINEL_CONF: REDIS_HA_FILES.sentinelConf,
            ORDINAL_VAR: SCRIPT_ENV.ordinal,
        }),
        fromEnv("ORDINAL_SETTING", SCRIPT_ENV.ordinal, ""),
        ...assignments({
            MASTER_NAME: layout.masterName,
            QUORUM: layout.quorum,
            NODE_COUNT: layout.nodes.length,
            NODE_HOSTS: layout.nodes.map((n) => n.host).join(" "),
            NODE_REDIS_PORTS: layout.nodes.map((n) => n.redisPort).join(" "),
            NODE_SENTINEL_PORTS: layout.nodes.map((n) => n.sentinelPort).join(" "),
            REPLICA_PRIORITY: layout.replicaPriority,
            REPLICA_SYNC_WAIT_SECONDS: layout.replicaSyncWaitSeconds,
            EMPTY_MASTER_WAIT_SECONDS: emptyMasterWaitSeconds(layout),
            PRESTOP_CATCH_UP_SECONDS: t.catchUpSeconds,
            PRESTOP_FAILOVER_WAIT_SECONDS: t.failoverWaitSeconds,
            PRESTOP_PAUSE_MS: t.pauseMs,
        }),
    ]);
}

/** settings.env of a standalone node. */
export function standaloneSettings(layout: RedisStandaloneLayout): string {
    return settingsFile([...commonSettings(layout.paths, layout.cliTimeoutSeconds), ...assignments({ REDIS_PORT: layout.port })]);
}
