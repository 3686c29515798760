/**
 * Redis, the control plane's state: highly available (or external), durable, authenticated,
 * private, and actually reachable by the controller and the registry.
 */
import { A8_STORAGE } from "../lib/amalgam8";
import { stackKeyHint } from "../lib/stackKeys";
import { plural } from "../lib/text";
import { Entry, StackModel, Workload } from "../lib/model";
import { Rule, stackRule } from "../lib/policy";
import { isEmptySelector, matchesLabelSelector } from "../lib/selector";
import {
    REDIS_PORT,
    SENTINEL_PORT,
    containerRedisRole,
    lastDirective,
    sentinelMonitors,
    sentinelSub,
    serverContainers,
} from "../lib/redis";
import { containerPorts, containersOf } from "../lib/k8s";
import {
    A8StorageView,
    RedisTopology,
    a8Storages,
    redisServerConfig,
    redisTopologies,
    redisTopology,
    redisTopologyIn,
    sentinelConfig,
    showLabels,
} from "../lib/storage";

interface RedisHaConfig {
    minNodes: number;
    minSentinels: number;
    minReplicasToWrite: number;
}

export const redisHaTopology = stackRule<RedisHaConfig>({
    name: "redis-ha-topology",
    description:
        "Redis survives a node loss: at least 3 Redis nodes, an odd number (>= 3) of Sentinels whose quorum is a majority, and min-replicas-to-write >= 1; or no in-cluster Redis and the services pointed at an external Redis address. In-memory storage needs no Redis.",
    enforcementLevel: "mandatory",
    protectsAgainst: "One Redis is a single point of failure; a minority quorum or no min-replicas-to-write loses writes on failover.",
    fix: "Run 3 (odd) Redis nodes with a Sentinel each, quorum a majority, `min-replicas-to-write 1` (`redis.mode: ha`), or use an external Redis.",
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
                topo.nodes <= 1 ? "losing that node loses the control plane's state" : "after one is lost the survivor has no replica, so the next loss loses the state"
            }. ` +
                `Run at least ${cfg.minNodes} nodes (1 primary + ${cfg.minNodes - 1} replicas) with Sentinel and a proxy that follows the primary, or use an external HA Redis${stackKeyHint(first.urn, first.obj, "replicas")}.`,
            first,
        );
    }
    if (topo.sentinelCount < cfg.minSentinels || topo.sentinelCount % 2 === 0) {
        const why = topo.sentinelCount === 0 ? "no Sentinel: nothing promotes a replica when the primary fails" : plural(topo.sentinelCount, "Sentinel");
        report(
            `Redis has ${why}. Run an odd number of Sentinels, at least ${cfg.minSentinels} (e.g. a Sentinel sidecar in each of ${Math.max(cfg.minSentinels, 3)} Redis pods), so a majority can elect a failover.`,
            topo.sentinels[0] ?? first,
        );
    }
    if (topo.sentinelCount > 0) {
        const n = topo.sentinelCount;
        const majority = Math.floor(n / 2) + 1;
        for (const w of topo.sentinels) {
            const monitors = sentinelMonitors(sentinelConfig(model, w));
            if (monitors.length === 0) {
                report(`${w.ref} runs Sentinel without a readable "sentinel monitor <name> <host> <port> <quorum>" line: add it to sentinel.conf with quorum ${majority}.`, w);
                continue;
            }
            for (const m of monitors) {
                if (!(m.quorum >= majority && m.quorum <= n)) {
                    report(
                        `${w.ref}: sentinel monitor ${m.master} has quorum ${Number.isNaN(m.quorum) ? "?" : m.quorum} with ${n} Sentinels: set it to ${majority} (a majority), so a minority cannot declare the primary down and a failover stays possible.`,
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
                    `${w.ref}: min-replicas-to-write is ${d ? d.args[0] : "unset (0)"}: a primary cut off from its replicas keeps accepting writes that a failover then discards. ` +
                        `Add "min-replicas-to-write ${cfg.minReplicasToWrite}" and "min-replicas-max-lag 10" to redis.conf.`,
                    w,
                );
            }
        }
    }
}

function persistentDataMount(w: Workload): boolean {
    const claimNames = new Set<string>();
    for (const t of Array.isArray(w.obj.spec?.volumeClaimTemplates) ? w.obj.spec.volumeClaimTemplates : []) {
        if (typeof t?.metadata?.name === "string") claimNames.add(t.metadata.name);
    }
    for (const v of Array.isArray(w.pod.spec.volumes) ? w.pod.spec.volumes : []) {
        // A single-replica workload may use a pre-created claim.
        if (v?.persistentVolumeClaim && typeof v.name === "string" && w.replicas <= 1) claimNames.add(v.name);
    }
    return serverContainers(w.pod).some((c) => (Array.isArray(c.volumeMounts) ? c.volumeMounts : []).some((m: any) => claimNames.has(m?.name)));
}

export const redisPersistence = stackRule<{ requireAppendOnly: boolean }>({
    name: "redis-persistence",
    description:
        "Redis data nodes keep their data on a PersistentVolumeClaim (StatefulSet volumeClaimTemplates mounted by the redis container) and use the append-only file (`appendonly yes`). Losing the data resets the controller's rule revision and sidecars ignore new rules.",
    enforcementLevel: "mandatory",
    protectsAgainst: "Losing Redis data resets the controller's rule revision: sidecars then ignore new rules.",
    fix: "Mount a volumeClaimTemplate at the data directory and set `appendonly yes`.",
    amalgam8Specific: true,
    properties: { requireAppendOnly: { type: "boolean", default: true, description: "Require appendonly yes." } },
    check(model, cfg, report) {
        for (const w of redisTopology(model).servers) {
            if (!persistentDataMount(w)) {
                report(
                    `${w.ref} keeps Redis data on the container filesystem or an emptyDir: a restart loses every rule and registration. ` +
                        `${w.kind === "StatefulSet" ? "Add" : `Run Redis as a StatefulSet with`} spec.volumeClaimTemplates and mount the claim at the Redis data directory (e.g. /data).`,
                    w,
                );
            }
            if (cfg.requireAppendOnly) {
                const d = lastDirective(redisServerConfig(model, w).directives, "appendonly");
                if ((d?.args[0] ?? "no").toLowerCase() !== "yes") {
                    report(`${w.ref}: appendonly is ${d ? d.args[0] : "unset (no)"}: RDB snapshots alone lose the last minutes of writes. Add "appendonly yes" to redis.conf.`, w);
                }
            }
        }
    },
});

/** Every workload with something to do with Redis: data nodes, Sentinels, proxies. */
function redisWorkloads(model: StackModel): Workload[] {
    const t = redisTopology(model);
    return [...new Set([...t.servers, ...t.sentinels, ...t.proxies])];
}

export const redisNotExposed = stackRule({
    name: "sec-redis-not-exposed",
    description: "No Service that selects Redis pods (data nodes, Sentinels or the proxy) is a NodePort or LoadBalancer or has externalIPs.",
    enforcementLevel: "mandatory",
    protectsAgainst: "Redis must never be reachable from outside the cluster.",
    fix: "Make every Service selecting Redis pods a ClusterIP (or headless) Service without externalIPs.",
    amalgam8Specific: false,
    check(model, _cfg, report) {
        const redis = new Set(redisWorkloads(model));
        for (const svc of model.ofKind("Service")) {
            const hits = model.serviceTargets(svc).filter((w) => redis.has(w));
            if (hits.length === 0) {
                continue;
            }
            const type = svc.obj.spec?.type ?? "ClusterIP";
            const ips: unknown[] = Array.isArray(svc.obj.spec?.externalIPs) ? svc.obj.spec.externalIPs : [];
            if (type === "NodePort" || type === "LoadBalancer" || ips.length > 0) {
                const what = ips.length > 0 && type !== "NodePort" && type !== "LoadBalancer" ? `has externalIPs ${ips.join(", ")}` : `is type ${type}`;
                report(
                    `${svc.ref} ${what} and selects Redis pods (${hits.map((h) => h.ref).join(", ")}): Redis would be reachable from outside the cluster. ` +
                        `Make it type ClusterIP without externalIPs/nodePort; clients inside the cluster use its DNS name.`,
                    svc,
                );
            }
        }
    },
});

/** A value that is (or reads) a variable/file rather than a literal password. */
function referencedVar(value: string): string | undefined {
    const m = /\$\(([A-Za-z_][A-Za-z0-9_]*)\)|\$\{([A-Za-z_][A-Za-z0-9_]*)[^}]*\}|\$([A-Za-z_][A-Za-z0-9_]*)/.exec(value);
    return m ? (m[1] ?? m[2] ?? m[3]) : undefined;
}

function checkRedisServerAuth(model: StackModel, w: Workload, nodes: number, report: (m: string, e?: Entry) => void): boolean {
    const conf = redisServerConfig(model, w);
    const rp = lastDirective(conf.directives, "requirepass");
    const value = rp?.args.join(" ") ?? "";
    if (!rp || value.trim() === "" || value === '""') {
        report(
            `${w.ref} runs Redis without AUTH: anyone who reaches port 6379 can read or FLUSHALL the control plane's state. ` +
                `Add "requirepass <placeholder>" (and "masterauth <placeholder>") to redis.conf and substitute the password at start from a mounted Secret.`,
            w,
        );
        return false;
    }
    const from = conf.requirepassFrom;
    if (from?.kind === "file" && !from.fromSecret && !model.podReadsSecret(w)) {
        report(
            `${w.ref}: requirepass in ${from.owner} (${from.key}) is a literal and the pod reads no Secret: keep the password in a Secret and substitute it at start (mounted Secret file or valueFrom.secretKeyRef).`,
            w,
        );
    } else if (from?.kind === "args") {
        const v = referencedVar(from.value);
        if (v === undefined) {
            report(`${w.ref} passes --requirepass as a literal on the command line: read it from a Secret (an env var with valueFrom.secretKeyRef, or a mounted Secret file).`, w);
        } else {
            const env = serverContainers(w.pod).map((c) => model.resolveEnv(w, c).get(v)).find((e) => e !== undefined);
            if (env && env.source !== "secret") {
                report(`${w.ref} takes requirepass from $${v}, which is not set from a Secret: use valueFrom.secretKeyRef.`, w);
            } else if (!env && !model.podReadsSecret(w)) {
                report(`${w.ref} takes requirepass from $${v}, but the pod reads no Secret: mount the password Secret or set ${v} with valueFrom.secretKeyRef.`, w);
            }
        }
    }
    if (nodes > 1 && !lastDirective(conf.directives, "masterauth")) {
        report(`${w.ref} requires AUTH but has no masterauth: replicas cannot authenticate to the primary and replication stops. Add "masterauth <placeholder>" with the same Secret password.`, w);
    }
    return true;
}

export const redisAuth = stackRule({
    name: "sec-redis-auth",
    description:
        "Redis requires a password (requirepass, plus masterauth when replicated) that comes from a Secret (mounted Secret file or secretKeyRef, never a literal); Sentinels authenticate to Redis (sentinel auth-pass) and require a password themselves.",
    enforcementLevel: "mandatory",
    protectsAgainst: "Anyone reaching 6379 could read or wipe the state; an open Sentinel accepts `SENTINEL FAILOVER`.",
    fix: "Set `requirepass`/`masterauth` and Sentinel `auth-pass`/`requirepass` from a mounted Secret or a secretKeyRef, never a literal.",
    amalgam8Specific: false,
    check(model, _cfg, report) {
        const topo = redisTopology(model);
        let serverAuth = false;
        for (const w of topo.servers) {
            serverAuth = checkRedisServerAuth(model, w, redisTopologyIn(model, w.namespace).nodes, report) || serverAuth;
        }
        for (const w of topo.sentinels) {
            const ds = sentinelConfig(model, w);
            if (serverAuth) {
                const authed = new Set(sentinelSub(ds, "auth-pass").map((d) => d.args[1]));
                for (const m of sentinelMonitors(ds)) {
                    if (!authed.has(m.master)) {
                        report(`${w.ref}: Sentinel monitors ${m.master} without "sentinel auth-pass ${m.master} <placeholder>": it cannot talk to a password-protected Redis, so failover never happens. Add it (password from the Secret).`, w);
                    }
                }
            }
            const rp = lastDirective(ds, "requirepass");
            if (!rp || rp.args.join("").trim() === "") {
                report(`${w.ref}: Sentinel has no requirepass: anyone reaching port 26379 can run SENTINEL FAILOVER/SET/REMOVE. Add "requirepass <placeholder>" to sentinel.conf, substituted from the Secret.`, w);
            } else if (!model.podReadsSecret(w)) {
                report(`${w.ref}: Sentinel's requirepass is a literal and the pod reads no Secret: substitute it at start from a mounted Secret.`, w);
            }
        }
    },
});

/** Why an ingress rule lets more than selected pods in, if it does. */
/** Ports (numbers and names) on which a workload speaks the Redis or Sentinel protocol. */
export function redisPortsOf(w: Workload): Set<number | string> {
    const out = new Set<number | string>([REDIS_PORT, SENTINEL_PORT]);
    for (const c of containersOf(w.pod.spec)) {
        const role = containerRedisRole(c);
        for (const p of containerPorts(c)) {
            const redisLike = p?.containerPort === REDIS_PORT || p?.containerPort === SENTINEL_PORT || /redis|sentinel/i.test(String(p?.name ?? ""));
            // Data nodes and Sentinels speak Redis on every port; a proxy only on its Redis ports.
            if (role === "server" || role === "sentinel" || (role === "proxy" && redisLike)) {
                if (typeof p?.containerPort === "number") out.add(p.containerPort);
                if (typeof p?.name === "string") out.add(p.name);
            }
        }
    }
    return out;
}

/** Whether an ingress rule's `ports` (unset = all) include one of the Redis ports. */
function coversRedisPort(rule: any, ports: Set<number | string>): boolean {
    const list = Array.isArray(rule?.ports) ? rule.ports : [];
    if (list.length === 0) {
        return true;
    }
    return list.some((p: any) => {
        if (p?.port === undefined) return true;
        if (typeof p.port === "string") return ports.has(p.port);
        const end = typeof p.endPort === "number" ? p.endPort : p.port;
        return [...ports].some((x) => typeof x === "number" && x >= p.port && x <= end);
    });
}

function openIngress(rule: any, ports: Set<number | string>): string | undefined {
    if (!coversRedisPort(rule, ports)) {
        // e.g. a health port open to the kubelet: not a path to Redis data.
        return undefined;
    }
    const from = Array.isArray(rule?.from) ? rule.from : [];
    if (from.length === 0) {
        return "an ingress rule without `from` admits every source";
    }
    for (const peer of from) {
        if (peer?.ipBlock) {
            return `an ingress rule admits the IP range ${peer.ipBlock.cidr}`;
        }
        if (peer?.podSelector === undefined) {
            return "an ingress rule admits every pod of the selected namespaces (namespaceSelector without podSelector)";
        }
        if (isEmptySelector(peer.podSelector)) {
            return "an ingress rule admits every pod (empty podSelector)";
        }
    }
    return undefined;
}

export const redisNetworkPolicy = stackRule({
    name: "sec-redis-network-policy",
    description:
        "Every Redis pod (data node, Sentinel, proxy) is selected by a NetworkPolicy with the Ingress policy type, and every ingress rule of those policies that reaches a Redis/Sentinel port admits only selected pods (podSelector), never everything, IP blocks or whole namespaces.",
    enforcementLevel: "mandatory",
    protectsAgainst: "Only the controller, the registry, the proxy and Redis peers should reach Redis.",
    fix: "Select every Redis pod with a NetworkPolicy whose ingress rules to Redis ports list client pods by `podSelector` only.",
    amalgam8Specific: true,
    check(model, _cfg, report) {
        const reported = new Set<string>();
        for (const w of redisWorkloads(model)) {
            const isolating = model.networkPoliciesFor(w).filter((n) => {
                const types: unknown = n.obj.spec?.policyTypes;
                return !Array.isArray(types) || types.includes("Ingress");
            });
            if (isolating.length === 0) {
                report(
                    `${w.ref} (Redis) is selected by no NetworkPolicy with policyTypes [Ingress]: every pod in the cluster can reach it. ` +
                        `Add a NetworkPolicy selecting its pods that admits only the controller, the registry, the proxy and Redis peers (ports 6379/26379).`,
                    w,
                );
                continue;
            }
            for (const n of isolating) {
                for (const rule of Array.isArray(n.obj.spec?.ingress) ? n.obj.spec.ingress : []) {
                    const why = openIngress(rule, redisPortsOf(w));
                    if (why && !reported.has(n.ref + why)) {
                        reported.add(n.ref + why);
                        report(`${n.ref} selects Redis pods but ${why}: list the client pods with from.podSelector (controller, registry, proxy, Redis peers).`, n);
                    }
                }
            }
        }
    },
});

/** Service named by a host such as `redis`, `redis.ns`, `redis.ns.svc.cluster.local` or `$(REDIS_SERVICE_HOST)`. */
function serviceForHost(model: StackModel, host: string, ns: string): Entry | undefined {
    const env = /^\$\(([A-Z0-9_]+)_SERVICE_HOST\)$/.exec(host);
    if (env) {
        const name = env[1].toLowerCase().replace(/_/g, "-");
        return model.find("Service", ns, name);
    }
    const parts = host.toLowerCase().split(".");
    const inCluster = parts.length === 1 || parts.length === 2 || parts[2] === "svc";
    if (!inCluster) {
        return undefined;
    }
    return model.find("Service", parts[1] ?? ns, parts[0]) ?? (parts.length === 1 ? undefined : model.find("Service", ns, parts[0]));
}

function looksInCluster(host: string): boolean {
    const parts = host.toLowerCase().split(".");
    return parts.length === 1 || parts[2] === "svc" || /^\$\([A-Z0-9_]+_SERVICE_HOST\)$/.test(host);
}

function parseAddress(role: "controller" | "registry", value: string): { host: string; port?: string; problem?: string } {
    const v = value.trim();
    if (role === "controller") {
        const m = /^rediss?:\/\/(?:[^@/]*@)?(\$\([A-Z0-9_]+\)|[^:/]+)(?::(\$\([A-Z0-9_]+\)|\d+))?(\/\d*)?$/.exec(v);
        if (!m) {
            return { host: "", problem: `must be a URL like redis://host:6379 (the controller requires the redis:// scheme), not "${v}"` };
        }
        return { host: m[1], port: m[2] };
    }
    if (v.includes("://")) {
        return { host: "", problem: `must be host:port without a scheme (the registry dials it directly), not "${v}"` };
    }
    const m = /^(\$\([A-Z0-9_]+\)|[^:/]+)(?::(\$\([A-Z0-9_]+\)|\d+))?$/.exec(v);
    return m ? { host: m[1], port: m[2] } : { host: "", problem: `must be host:port, not "${v}"` };
}

/** Whether some NetworkPolicy selecting `target` admits pods of `client` (or none isolates ingress). */
function ingressAdmits(model: StackModel, target: Workload, client: Workload): boolean {
    const isolating = model.networkPoliciesFor(target).filter((n) => {
        const types: unknown = n.obj.spec?.policyTypes;
        return !Array.isArray(types) || types.includes("Ingress");
    });
    if (isolating.length === 0) {
        return true;
    }
    return isolating.some((n) =>
        (Array.isArray(n.obj.spec?.ingress) ? n.obj.spec.ingress : []).some((rule: any) => {
            const from = Array.isArray(rule?.from) ? rule.from : [];
            if (from.length === 0) return true;
            return from.some((peer: any) => {
                if (peer?.ipBlock) return false;
                const podOk = peer?.podSelector === undefined || matchesLabelSelector(peer.podSelector, client.pod.labels);
                const nsOk = peer?.namespaceSelector !== undefined || client.namespace === target.namespace;
                return podOk && nsOk;
            });
        }),
    );
}

function checkWiring(model: StackModel, s: A8StorageView, report: (m: string, e?: Entry) => void): void {
    const st = A8_STORAGE[s.role];
    const w = s.workload;
    if (s.type === undefined) {
        return;
    }
    if (s.type !== "redis" && s.type !== st.memoryValue) {
        report(`${w.ref}: ${s.typeText} is not a storage type the ${s.role} accepts: use ${st.memoryValue} or redis.`, w);
        return;
    }
    if (s.type !== "redis") {
        return;
    }
    const addr = s.address;
    if (!addr || (addr.source === "literal" && addr.value.trim() === "")) {
        report(`${w.ref} uses Redis storage but ${st.addressVar} is unset: set it to the Redis endpoint (${s.role === "controller" ? "redis://<service>.<namespace>:6379" : "<service>.<namespace>:6379"}).`, w);
        return;
    }
    const topo = redisTopology(model);
    const authRequired = topo.servers.some((sv) => redisServerConfig(model, sv).requirepassFrom !== undefined);
    if (authRequired) {
        if (!s.password) {
            report(`${w.ref}: the in-cluster Redis requires AUTH but ${st.passwordVar} is unset: set it from the Redis password Secret (valueFrom.secretKeyRef).`, w);
        } else if (s.password.source !== "secret") {
            report(`${w.ref}: ${st.passwordVar} does not come from a Secret: use valueFrom.secretKeyRef to the Redis password Secret.`, w);
        }
    }
    if (addr.source !== "literal" && !(addr.source === "configMap" && addr.value !== undefined)) {
        return;
    }
    const value = addr.value ?? "";
    const parsed = parseAddress(s.role, value);
    if (parsed.problem) {
        report(`${w.ref}: ${st.addressVar} ${parsed.problem}.`, w);
        return;
    }
    const svc = serviceForHost(model, parsed.host, w.namespace);
    if (!svc) {
        if (looksInCluster(parsed.host) && topo.servers.length > 0) {
            report(`${w.ref}: ${st.addressVar} names "${parsed.host}", which is no Service of this stack: point it at the Redis (proxy) Service.`, w);
        } else if (topo.servers.length === 0 && looksInCluster(parsed.host) && !parsed.host.startsWith("$(")) {
            report(`${w.ref}: ${st.addressVar} names "${parsed.host}", an in-cluster name with no Service in this stack and no Redis deployed: point it at the external Redis endpoint (a full DNS name or IP).`, w);
        }
        return;
    }
    const backends = model.serviceTargets(svc);
    if (!backends.some((b) => b.redisRole === "server" || b.redisRole === "proxy")) {
        report(`${w.ref}: ${st.addressVar} points at ${svc.ref}, which selects no Redis pods: point it at the Redis proxy (or standalone Redis) Service.`, w);
        return;
    }
    if (parsed.port && /^\d+$/.test(parsed.port)) {
        const ports = (Array.isArray(svc.obj.spec?.ports) ? svc.obj.spec.ports : []).map((p: any) => String(p?.port));
        if (!ports.includes(parsed.port)) {
            report(`${w.ref}: ${st.addressVar} uses port ${parsed.port}, but ${svc.ref} exposes ${ports.join(", ") || "no port"}: use the Service port.`, w);
        }
    }
    const servers = backends.filter((b) => b.redisRole === "server");
    if (servers.length > 0 && topo.nodes > 1) {
        report(
            `${w.ref}: ${st.addressVar} points at ${svc.ref}, which spreads connections over all ${topo.nodes} Redis nodes; replicas refuse writes. ` +
                `Point it at the proxy Service that always routes to the current primary (e.g. HAProxy checking role:master).`,
            w,
        );
    }
    for (const b of backends) {
        if (!ingressAdmits(model, b, w)) {
            report(
                `${w.ref} connects to Redis through ${svc.ref}, but no NetworkPolicy selecting ${b.ref} admits its pods ${showLabels(w.pod.labels)}: add an ingress from.podSelector for them.`,
                w,
            );
        }
    }
}

export const a8StorageWiring = stackRule({
    name: "a8-storage-wiring",
    description:
        "The controller and registry that use Redis name a valid endpoint (controller `redis://host:port`, registry `host:port`) that resolves to a Redis or proxy Service of the stack (or an external name), send the password from a Secret when Redis requires AUTH, and are admitted by Redis's NetworkPolicy.",
    enforcementLevel: "mandatory",
    protectsAgainst: "A wrong scheme, a replica endpoint, a missing password or a blocking policy is an outage at start.",
    fix: "Point `A8_DATABASE_HOST` at `redis://<redis service>:<port>` and `A8_STORE_ADDRESS` at `<redis service>:<port>`, passwords from the Redis Secret.",
    amalgam8Specific: true,
    check(model, _cfg, report) {
        for (const s of a8Storages(model)) {
            checkWiring(model, s, report);
        }
    },
});

export const redisPolicies: Rule[] = [
    redisHaTopology,
    redisPersistence,
    redisAuth,
    redisNotExposed,
    redisNetworkPolicy,
    a8StorageWiring,
];
