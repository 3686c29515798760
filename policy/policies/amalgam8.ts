/**
 * Amalgam8: the controller and the registry actually reach their Redis, each in the address
 * format it accepts, with its password and through Redis's NetworkPolicy.
 */
import { A8StorageView, a8Storages } from "../lib/a8Storage";
import { A8Role, A8_STORAGE, parseRedisAddress } from "../lib/amalgam8";
import { Entry, StackModel } from "../lib/model";
import { listOf, specOf } from "../lib/k8s";
import { ingressAdmits } from "../lib/networkPolicy";
import { Rule, stackRule } from "../lib/policy";
import { redisServerConfig } from "../lib/redisConfig";
import { redisTopology } from "../lib/redisTopology";
import { isInClusterHost, serviceForHost } from "../lib/services";
import { showLabels } from "../lib/text";

/** Why a service would not accept its Redis address (see parseRedisAddress). */
function addressProblem(role: A8Role, value: string): string {
    const v = value.trim();
    if (role === "controller") {
        return `must be a URL like redis://host:6379 (the controller requires the redis:// scheme), not "${v}"`;
    }
    return v.includes("://")
        ? `must be host:port without a scheme (the registry dials it directly), not "${v}"`
        : `must be host:port, not "${v}"`;
}

/** Reports what keeps one service from reaching the stack's Redis. */
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
        report(
            `${w.ref} uses Redis storage but ${st.addressVar} is unset: set it to the Redis endpoint ` +
                `(${s.role === "controller" ? "redis://<service>.<namespace>:6379" : "<service>.<namespace>:6379"}).`,
            w,
        );
        return;
    }
    const topo = redisTopology(model);
    const authRequired = topo.servers.some((sv) => redisServerConfig(model, sv).requirepassFrom !== undefined);
    if (authRequired) {
        if (!s.password) {
            report(
                `${w.ref}: the in-cluster Redis requires AUTH but ${st.passwordVar} is unset: set it from the Redis password Secret ` +
                    `(valueFrom.secretKeyRef).`,
                w,
            );
        } else if (s.password.source !== "secret") {
            report(`${w.ref}: ${st.passwordVar} does not come from a Secret: use valueFrom.secretKeyRef to the Redis password Secret.`, w);
        }
    }
    if (addr.source !== "literal" && !(addr.source === "configMap" && addr.value !== undefined)) {
        return;
    }
    const value = addr.value ?? "";
    const parsed = parseRedisAddress(s.role, value);
    if (!parsed) {
        report(`${w.ref}: ${st.addressVar} ${addressProblem(s.role, value)}.`, w);
        return;
    }
    const svc = serviceForHost(model, parsed.host, w.namespace);
    if (!svc) {
        if (isInClusterHost(parsed.host) && topo.servers.length > 0) {
            report(
                `${w.ref}: ${st.addressVar} names "${parsed.host}", which is no Service of this stack: point it at the Redis (proxy) ` +
                    `Service.`,
                w,
            );
        } else if (topo.servers.length === 0 && isInClusterHost(parsed.host) && !parsed.host.startsWith("$(")) {
            report(
                `${w.ref}: ${st.addressVar} names "${parsed.host}", an in-cluster name with no Service in this stack and no Redis ` +
                    `deployed: point it at the external Redis endpoint (a full DNS name or IP).`,
                w,
            );
        }
        return;
    }
    const backends = model.serviceTargets(svc);
    if (!backends.some((b) => b.redisRole === "server" || b.redisRole === "proxy")) {
        report(
            `${w.ref}: ${st.addressVar} points at ${svc.ref}, which selects no Redis pods: point it at the Redis proxy (or standalone ` +
                `Redis) Service.`,
            w,
        );
        return;
    }
    if (parsed.port && /^\d+$/.test(parsed.port)) {
        const ports = listOf(specOf(svc.obj, "Service").ports).map((p: any) => String(p?.port));
        if (!ports.includes(parsed.port)) {
            report(
                `${w.ref}: ${st.addressVar} uses port ${parsed.port}, but ${svc.ref} exposes ${ports.join(", ") || "no port"}: use the ` +
                    `Service port.`,
                w,
            );
        }
    }
    const servers = backends.filter((b) => b.redisRole === "server");
    if (servers.length > 0 && topo.nodes > 1) {
        report(
            `${w.ref}: ${st.addressVar} points at ${svc.ref}, which spreads connections over all ${topo.nodes} Redis nodes; replicas ` +
                `refuse writes. ` +
                `Point it at the proxy Service that always routes to the current primary (e.g. HAProxy checking role:master).`,
            w,
        );
    }
    for (const b of backends) {
        if (!ingressAdmits(model, b, w)) {
            report(
                `${w.ref} connects to Redis through ${svc.ref}, but no NetworkPolicy selecting ${b.ref} admits its pods ` +
                    `${showLabels(w.pod.labels)}: add an ingress from.podSelector for them.`,
                w,
            );
        }
    }
}

export const a8StorageWiring = stackRule({
    name: "a8-storage-wiring",
    description:
        "The controller and registry that use Redis name a valid endpoint (controller `redis://host:port`, registry `host:port`) that " +
        "resolves to a Redis or proxy Service of the stack (or an external name), send the password from a Secret when Redis " +
        "requires AUTH, and are admitted by Redis's NetworkPolicy.",
    enforcementLevel: "mandatory",
    protectsAgainst: "A wrong scheme, a replica endpoint, a missing password or a blocking policy is an outage at start.",
    fix:
        "Point `A8_DATABASE_HOST` at `redis://<redis service>:<port>` and `A8_STORE_ADDRESS` at `<redis service>:<port>`, passwords " +
        "from the Redis Secret.",
    amalgam8Specific: true,
    check(model, _cfg, report) {
        for (const s of a8Storages(model)) {
            checkWiring(model, s, report);
        }
    },
});

export const amalgam8Policies: Rule[] = [a8StorageWiring];
