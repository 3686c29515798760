/**
 * Redis, the control plane's state: highly available and durable. (Its authentication and
 * isolation are security rules; the services' wiring to it is an Amalgam8 rule.)
 */
import { Entry, StackModel } from "../lib/model";
import { Rule, stackRule } from "../lib/policy";
import { keepsDataOnClaim } from "../lib/redis";
import { lastDirective, redisServerConfig, sentinelConfig, sentinelMonitors } from "../lib/redisConfig";
import { RedisTopology, redisTopologies, redisTopology } from "../lib/redisTopology";
import { stackKeyHint } from "../lib/stackKeys";
import { plural } from "../lib/text";

interface RedisHaConfig {
    minNodes: number;
    minSentinels: number;
    minReplicasToWrite: number;
}

export const redisHaTopology = stackRule<RedisHaConfig>({
    name: "redis-ha-topology",
    description:
        "Redis survives a node loss: at least 3 Redis nodes, an odd number (>= 3) of Sentinels whose quorum is a majority, and " +
        "min-replicas-to-write >= 1; or no in-cluster Redis and the services pointed at an external Redis address. In-memory storage " +
        "needs no Redis.",
    enforcementLevel: "mandatory",
    protectsAgainst: "One Redis is a single point of failure; a minority quorum or no min-replicas-to-write loses writes on failover.",
    fix:
        "Run 3 (odd) Redis nodes with a Sentinel each, quorum a majority, `min-replicas-to-write 1` (`redis.mode: ha`), or use an " +
        "external Redis.",
    amalgam8Specific: true,
    properties: {
        minNodes: { type: "integer", minimum: 1, default: 3, description: "Least Redis data nodes (primary + replicas)." },
        minSentinels: { type: "integer", minimum: 1, default: 3, description: "Least Sentinel processes." },
        minReplicasToWrite: { type: "integer", minimum: 0, default: 1, description: "Least min-replicas-to-write on the data nodes." },
    },
    check(model, cfg, report) {
        // External Redis (or none) has no topology here: the wiring rule checks the services name an address.
        for (const topo of redisTopologies(model)) {
            checkTopology(model, topo, cfg, report);
        }
    },
});

function checkTopology(model: StackModel, topo: RedisTopology, cfg: RedisHaConfig, report: (message: string, entry?: Entry) => void): void {
    const first = topo.servers[0];
    if (topo.nodes < cfg.minNodes) {
        report(
            `Redis runs ${plural(topo.nodes, "data node")} (${topo.servers.map((w) => w.ref).join(", ")}): ${
                topo.nodes <= 1
                    ? "losing that node loses the control plane's state"
                    : "after one is lost the survivor has no replica, so the next loss loses the state"
            }. ` +
                `Run at least ${cfg.minNodes} nodes (1 primary + ${cfg.minNodes - 1} replicas) with Sentinel and a proxy that follows ` +
                `the primary, or use an external HA Redis${stackKeyHint(first.urn, first.obj, "replicas")}.`,
            first,
        );
    }
    if (topo.sentinelCount < cfg.minSentinels || topo.sentinelCount % 2 === 0) {
        const why =
            topo.sentinelCount === 0
                ? "no Sentinel: nothing promotes a replica when the primary fails"
                : plural(topo.sentinelCount, "Sentinel");
        report(
            `Redis has ${why}. Run an odd number of Sentinels, at least ${cfg.minSentinels} (e.g. a Sentinel sidecar in each of ` +
                `${Math.max(cfg.minSentinels, 3)} Redis pods), so a majority can elect a failover.`,
            topo.sentinels[0] ?? first,
        );
    }
    if (topo.sentinelCount > 0) {
        const n = topo.sentinelCount;
        const majority = Math.floor(n / 2) + 1;
        for (const w of topo.sentinels) {
            const monitors = sentinelMonitors(sentinelConfig(model, w));
            if (monitors.length === 0) {
                report(
                    `${w.ref} runs Sentinel without a readable "sentinel monitor <name> <host> <port> <quorum>" line: add it to ` +
                        `sentinel.conf with quorum ${majority}.`,
                    w,
                );
                continue;
            }
            for (const m of monitors) {
                if (!(m.quorum >= majority && m.quorum <= n)) {
                    report(
                        `${w.ref}: sentinel monitor ${m.master} has quorum ${Number.isNaN(m.quorum) ? "?" : m.quorum} with ${n} ` +
                            `Sentinels: set it to ${majority} (a majority), so a minority cannot declare the primary down and a failover ` +
                            `stays possible.`,
                        w,
                    );
                }
            }
        }
    }
    if (topo.nodes > 1) {
        for (const w of topo.servers) {
            const d = lastDirective(redisServerConfig(model, w).directives, "min-replicas-to-write");
            const v = d ? Number(d.args[0]) : 0;
            if (!(v >= cfg.minReplicasToWrite)) {
                report(
                    `${w.ref}: min-replicas-to-write is ${d ? d.args[0] : "unset (0)"}: a primary cut off from its replicas keeps ` +
                        `accepting writes that a failover then discards. ` +
                        `Add "min-replicas-to-write ${cfg.minReplicasToWrite}" and "min-replicas-max-lag 10" to redis.conf.`,
                    w,
                );
            }
        }
    }
}

export const redisPersistence = stackRule<{ requireAppendOnly: boolean }>({
    name: "redis-persistence",
    description:
        "Redis data nodes keep their data on a PersistentVolumeClaim (StatefulSet volumeClaimTemplates mounted by the redis container) " +
        "and use the append-only file (`appendonly yes`). Losing the data resets the controller's rule revision and sidecars ignore " +
        "new rules.",
    enforcementLevel: "mandatory",
    protectsAgainst: "Losing Redis data resets the controller's rule revision: sidecars then ignore new rules.",
    fix: "Mount a volumeClaimTemplate at the data directory and set `appendonly yes`.",
    amalgam8Specific: true,
    properties: { requireAppendOnly: { type: "boolean", default: true, description: "Require appendonly yes." } },
    check(model, cfg, report) {
        for (const w of redisTopology(model).servers) {
            if (!keepsDataOnClaim(w)) {
                report(
                    `${w.ref} keeps Redis data on the container filesystem or an emptyDir: a restart loses every rule and registration. ` +
                        `${w.kind === "StatefulSet" ? "Add" : `Run Redis as a StatefulSet with`} spec.volumeClaimTemplates and mount the ` +
                        `claim at the Redis data directory (e.g. /data).`,
                    w,
                );
            }
            if (cfg.requireAppendOnly) {
                const d = lastDirective(redisServerConfig(model, w).directives, "appendonly");
                if ((d?.args[0] ?? "no").toLowerCase() !== "yes") {
                    report(
                        `${w.ref}: appendonly is ${d ? d.args[0] : "unset (no)"}: RDB snapshots alone lose the last minutes of writes. ` +
                            `Add "appendonly yes" to redis.conf.`,
                        w,
                    );
                }
            }
        }
    },
});

export const redisPolicies: Rule[] = [redisHaTopology, redisPersistence];
