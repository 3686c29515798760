/** redis.conf: the template that init.sh completes with the password and the node's own lines. */
import { PASSWORD_PLACEHOLDER, RedisHaLayout, RedisStandaloneLayout } from "./layout";

function disabledCommandLines(cmds: string[]): string[] {
    return cmds.map((c) => `rename-command ${c} ""`);
}

interface RedisConfInput {
    bind: string;
    minReplicasToWrite: number;
    minReplicasMaxLag: number;
    disabledCommands: string[];
    /** Replica settings; absent on a standalone node. */
    replication?: { disklessSyncDelay: number };
}

/** redis.conf of an HA node: writes count once a replica has them. */
export function haRedisConf(layout: RedisHaLayout): string {
    return redisConf({
        bind: layout.bind,
        minReplicasToWrite: layout.minReplicasToWrite,
        minReplicasMaxLag: layout.minReplicasMaxLag,
        disabledCommands: layout.disabledCommands,
        replication: { disklessSyncDelay: layout.replDisklessSyncDelay },
    });
}

/** redis.conf of a standalone node: no replicas to wait for (min-replicas-to-write 0). */
export function standaloneRedisConf(layout: RedisStandaloneLayout): string {
    return redisConf({ bind: layout.bind, minReplicasToWrite: 0, minReplicasMaxLag: 10, disabledCommands: layout.disabledCommands });
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
    if (c.replication) {
        lines.push(
            "replica-read-only yes",
            "replica-serve-stale-data yes",
            "repl-diskless-sync yes",
            `repl-diskless-sync-delay ${c.replication.disklessSyncDelay}`,
            "repl-backlog-size 16mb",
        );
    }
    lines.push("", ...disabledCommandLines(c.disabledCommands), "");
    return lines.join("\n");
}
