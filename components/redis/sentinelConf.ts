/** sentinel.conf: the template that init.sh completes with the password, the master and the node's own lines. */
import { PASSWORD_PLACEHOLDER, RedisHaLayout } from "./layout";

export function sentinelConf(layout: RedisHaLayout): string {
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
