/**
 * Configuration files and scripts for Redis behind one stable address: Redis master + replicas,
 * one Sentinel beside each node, HAProxy in front routing to the node that reports `role:master`
 * AND that a majority of Sentinels name; or a single standalone node.
 *
 * One module per generated artefact (redisConf.ts, sentinelConf.ts, haproxyCfg.ts, scripts.ts
 * with settings.env); the layout and its validation in layout.ts and validate.ts. The same
 * files serve Kubernetes and the loopback test harness: only addresses and paths differ.
 */
import { haproxyFiles } from "./haproxyCfg";
import { REDIS_HA_FILES, RedisHaLayout, RedisStandaloneLayout } from "./layout";
import { haRedisConf, standaloneRedisConf } from "./redisConf";
import { HA_SCRIPT_SOURCES, STANDALONE_SCRIPT_SOURCES, haSettings, readScripts, standaloneSettings } from "./scripts";
import { sentinelConf } from "./sentinelConf";
import { RedisLayoutError, assertValidRedisHaLayout, validateStandaloneRedisLayout } from "./validate";

export * from "./layout";
export * from "./validate";
export {
    FENCE_POLL_MS,
    HOLD_RECHECK_MS,
    haproxyFiles,
    sentinelDoubtsPattern,
    sentinelMasterReply,
    sentinelVouchesPattern,
} from "./haproxyCfg";

/**
 * Every file of the HA deployment, keyed by file name: redis.conf, sentinel.conf and
 * haproxy.cfg (templates with the password placeholder), fence.lua, settings.env and the scripts.
 * Throws RedisLayoutError on an invalid layout.
 */
export function renderRedisHaFiles(layout: RedisHaLayout): Record<string, string> {
    assertValidRedisHaLayout(layout);
    const f = REDIS_HA_FILES;
    return {
        [f.redisConf]: haRedisConf(layout),
        [f.sentinelConf]: sentinelConf(layout),
        ...haproxyFiles(layout),
        [f.settings]: haSettings(layout),
        ...readScripts(HA_SCRIPT_SOURCES),
    };
}

/** redis.conf, settings.env and the scripts of a single node without Sentinel (min-replicas-to-write 0). */
export function renderStandaloneRedisFiles(layout: RedisStandaloneLayout): Record<string, string> {
    const problems = validateStandaloneRedisLayout(layout);
    if (problems.length > 0) throw new RedisLayoutError(problems);
    return {
        [REDIS_HA_FILES.redisConf]: standaloneRedisConf(layout),
        [REDIS_HA_FILES.settings]: standaloneSettings(layout),
        ...readScripts(STANDALONE_SCRIPT_SOURCES),
    };
}
