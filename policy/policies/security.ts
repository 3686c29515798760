/**
 * Security: no secrets written as literals, pods held to the Kubernetes "restricted" Pod Security
 * Standard, and Redis authenticated and reachable only by its clients.
 */
import { containerName, containerPorts, kindOf, listOf, refOf, specOf, workloadContainers } from "../lib/k8s";
import { WORKLOAD_KINDS } from "../lib/kinds";
import { Entry, StackModel, Workload } from "../lib/model";
import { ingressPoliciesFor, ingressRuleCovers, ingressRules } from "../lib/networkPolicy";
import { DANGEROUS_CAPABILITIES, podSecurityRule } from "../lib/podSecurity";
import { Rule, resourceRule, stackRule } from "../lib/policy";
import { redisPortsOf, serverContainers } from "../lib/redis";
import { lastDirective, redisServerConfig, referencedVariable, sentinelConfig, sentinelMonitors, sentinelSub } from "../lib/redisConfig";
import { redisTopology, redisTopologyIn, redisWorkloads } from "../lib/redisTopology";
import { secretMaterialIn } from "../lib/secrets";
import { isEmptySelector } from "../lib/selector";

export const noSecretLiterals = resourceRule<{ namePattern: string }>({
    name: "sec-no-secret-literals",
    description:
        "No env var whose name looks secret (password, secret, token, key) has a literal value; no literal env value or ConfigMap value " +
        "holds secret material (PEM private keys, tokens with well-known prefixes); no password-named keys in ConfigMaps. Use " +
        "Secrets (secretKeyRef or mounted files).",
    enforcementLevel: "mandatory",
    protectsAgainst: "Literals end up in manifests, diffs, logs and the state file.",
    fix: "Move the value to a Secret and reference it with `valueFrom.secretKeyRef` or a mounted file.",
    amalgam8Specific: false,
    kinds: [...WORKLOAD_KINDS, "ConfigMap"],
    properties: {
        namePattern: {
            type: "string",
            default: "password|passwd|secret|token|bearer|credential|key",
            description: "Case-insensitive regular expression for secret-like names.",
        },
    },
    check(obj, cfg, report) {
        const re = new RegExp(cfg.namePattern, "i");
        // Paths to mounted secret files are not secrets themselves.
        const pathLike = /_(FILE|PATH|DIR)$/i;
        if (kindOf(obj) === "ConfigMap") {
            for (const [k, v] of Object.entries(obj.data ?? {})) {
                const text = String(v ?? "");
                const material = secretMaterialIn(text);
                if (material) {
                    report(`${refOf(obj)} key ${k} holds ${material}: move it to a Secret.`);
                } else if (re.test(k) && !/\.(conf|cfg|sh|ya?ml|json|ini|toml)$/i.test(k) && text.trim() !== "") {
                    report(`${refOf(obj)} key ${k} looks like a secret: move it to a Secret.`);
                }
            }
            return;
        }
        for (const c of workloadContainers(obj)) {
            for (const e of Array.isArray(c.env) ? c.env : []) {
                if (!e || typeof e.name !== "string" || e.valueFrom || typeof e.value !== "string" || e.value === "") {
                    continue;
                }
                const material = secretMaterialIn(e.value);
                if (material) {
                    report(
                        `${refOf(obj)} container ${containerName(c)} sets ${e.name} to ${material} as a literal: store it in a Secret ` +
                            `and use valueFrom.secretKeyRef.`,
                    );
                } else if (!pathLike.test(e.name) && re.test(e.name) && !/^\$\([A-Za-z0-9_]+\)$/.test(e.value)) {
                    report(
                        `${refOf(obj)} container ${containerName(c)} sets ${e.name} as a literal: store it in a Secret and use ` +
                            `valueFrom.secretKeyRef.`,
                    );
                }
            }
        }
    },
});

export const runAsNonRoot = podSecurityRule(
    "sec-run-as-non-root",
    "Containers run as a non-root user: runAsNonRoot true or a non-zero runAsUser (pod or container level), never runAsUser 0.",
    {
        protectsAgainst: "The Amalgam8 images have no USER and run as root unless told otherwise.",
        fix: "Set `runAsNonRoot: true` and a non-zero `runAsUser`.",
        amalgam8Specific: false,
    },
    (c, podSC) => {
        const sc = c.securityContext ?? {};
        const nonRoot = sc.runAsNonRoot ?? podSC.runAsNonRoot;
        const uid = sc.runAsUser ?? podSC.runAsUser;
        if (uid === 0) {
            return ["runs as uid 0 (runAsUser: 0): set runAsUser to a non-zero uid (e.g. 65534) and runAsNonRoot: true"];
        }
        if (nonRoot === false && !(typeof uid === "number" && uid > 0)) {
            return ["sets runAsNonRoot: false: set runAsNonRoot: true with a non-zero runAsUser"];
        }
        if (nonRoot !== true && !(typeof uid === "number" && uid > 0)) {
            return [
                "may run as root (images without USER run as uid 0): set securityContext.runAsNonRoot: true and runAsUser (e.g. 65534; " +
                    "999 for the redis image)",
            ];
        }
        return [];
    },
);

export const noPrivilegeEscalation = podSecurityRule(
    "sec-no-privilege-escalation",
    "Containers set allowPrivilegeEscalation: false and are not privileged.",
    {
        protectsAgainst: "A process that gains privileges can escape the container (restricted Pod Security Standard).",
        fix: "Set `allowPrivilegeEscalation: false` and remove `privileged`.",
        amalgam8Specific: false,
    },
    (c) => {
        const sc = c.securityContext ?? {};
        const out: string[] = [];
        if (sc.privileged === true) out.push("is privileged: remove securityContext.privileged");
        if (sc.allowPrivilegeEscalation !== false) out.push("does not set securityContext.allowPrivilegeEscalation: false: set it");
        return out;
    },
);

export const capabilitiesDropAll = podSecurityRule(
    "sec-capabilities-drop-all",
    "Containers drop ALL capabilities and add none except NET_BIND_SERVICE.",
    {
        protectsAgainst:
            "Capabilities such as SYS_ADMIN or NET_ADMIN give a compromised container power over the node (restricted Pod Security " +
            "Standard).",
        fix: "Set `capabilities.drop: [ALL]` and add at most `NET_BIND_SERVICE`.",
        amalgam8Specific: false,
    },
    (c) => {
        const caps = c.securityContext?.capabilities ?? {};
        const drop: unknown[] = Array.isArray(caps.drop) ? caps.drop : [];
        const add: string[] = (Array.isArray(caps.add) ? caps.add : []).map((a: unknown) => String(a).toUpperCase().replace(/^CAP_/, ""));
        const out: string[] = [];
        const dangerous = add.filter((a) => DANGEROUS_CAPABILITIES.has(a));
        const other = add.filter((a) => a !== "NET_BIND_SERVICE" && !DANGEROUS_CAPABILITIES.has(a));
        if (dangerous.length > 0) {
            out.push(
                `adds the dangerous ${dangerous.length === 1 ? "capability" : "capabilities"} ` +
                    `${dangerous.join(", ")}${dangerous.includes("ALL") ? " (ALL grants every capability, SYS_ADMIN included)" : ""}: ` +
                    `remove ${dangerous.length === 1 ? "it" : "them"} from securityContext.capabilities.add`,
            );
        }
        if (other.length > 0)
            out.push(
                `adds ${other.length === 1 ? "the capability" : "the capabilities"} ${other.join(", ")}: remove ` +
                    `${other.length === 1 ? "it" : "them"} (only NET_BIND_SERVICE is allowed)`,
            );
        if (!drop.includes("ALL")) out.push("does not drop all capabilities: set securityContext.capabilities.drop: [ALL]");
        return out;
    },
);

export const readOnlyRootFs = podSecurityRule(
    "sec-read-only-root-fs",
    "Containers run with readOnlyRootFilesystem: true (writable paths come from emptyDir or PVC mounts).",
    {
        protectsAgainst: "An attacker cannot drop binaries; the services write nothing to disk.",
        fix: "Set `readOnlyRootFilesystem: true` and mount an emptyDir where the process writes.",
        amalgam8Specific: false,
    },
    (c) =>
        c.securityContext?.readOnlyRootFilesystem === true
            ? []
            : [
                  "has a writable root filesystem: set securityContext.readOnlyRootFilesystem: true and mount an emptyDir where it must " +
                      "write",
              ],
);

export const seccompProfile = podSecurityRule(
    "sec-seccomp-profile",
    "Every container runs with seccompProfile RuntimeDefault or Localhost (pod or container level).",
    {
        protectsAgainst: "Unfiltered system calls widen the kernel attack surface (restricted Pod Security Standard).",
        fix: "Set `securityContext.seccompProfile.type: RuntimeDefault` on the pod.",
        amalgam8Specific: false,
    },
    (c, podSC) => {
        const t = c.securityContext?.seccompProfile?.type ?? podSC.seccompProfile?.type;
        return t === "RuntimeDefault" || t === "Localhost"
            ? []
            : [`has seccompProfile ${t ?? "unset"}: set spec.securityContext.seccompProfile.type: RuntimeDefault`];
    },
);

export const noHostAccess = podSecurityRule(
    "sec-no-host-access",
    "Pods use no host namespaces (hostNetwork, hostPID, hostIPC), no hostPort, no hostPath volumes and no non-default procMount.",
    {
        protectsAgainst: "Host namespaces, ports and paths break pod isolation.",
        fix: "Remove hostNetwork/hostPID/hostIPC, hostPort, hostPath volumes and non-default procMount.",
        amalgam8Specific: false,
    },
    (c) => {
        const out: string[] = [];
        const hp = containerPorts(c).filter((p) => typeof p?.hostPort === "number" && p.hostPort !== 0);
        if (hp.length > 0)
            out.push(`binds hostPort ${hp.map((p) => p.hostPort).join(", ")}: remove hostPort and reach it through a Service`);
        if (c.securityContext?.procMount && c.securityContext.procMount !== "Default")
            out.push(`sets procMount ${c.securityContext.procMount}: remove it`);
        return out;
    },
    (spec) => {
        const out: string[] = [];
        for (const f of ["hostNetwork", "hostPID", "hostIPC"]) {
            if (spec[f] === true) out.push(`sets ${f}: true: remove it (the pod would share the node's ${f.slice(4)} namespace)`);
        }
        for (const v of Array.isArray(spec.volumes) ? spec.volumes : []) {
            if (v?.hostPath)
                out.push(`mounts hostPath ${v.hostPath.path} (volume ${v.name}): use an emptyDir, ConfigMap, Secret or PVC instead`);
        }
        return out;
    },
);

export const saTokenAutomount = stackRule({
    name: "sec-sa-token-automount",
    description:
        "Advisory: pods that never call the Kubernetes API do not mount a service account token: automountServiceAccountToken false on " +
        "the pod, or unset on the pod and false on its ServiceAccount (as Kubernetes decides).",
    enforcementLevel: "advisory",
    protectsAgainst: "A mounted token lets a compromised pod call the Kubernetes API.",
    fix: "Set `automountServiceAccountToken: false` on the pod or on its ServiceAccount.",
    amalgam8Specific: false,
    check(model, _cfg, report) {
        for (const w of model.workloads) {
            const own = w.pod.spec.automountServiceAccountToken;
            if (own === false) continue;
            const saName =
                typeof w.pod.spec.serviceAccountName === "string" && w.pod.spec.serviceAccountName !== ""
                    ? w.pod.spec.serviceAccountName
                    : "default";
            const sa = model.find("ServiceAccount", w.namespace, saName);
            // The pod's own setting wins; unset, the ServiceAccount's decides (unset there too: mounted).
            if (own === undefined && sa?.obj.automountServiceAccountToken === false) continue;
            const why =
                own === true
                    ? "sets automountServiceAccountToken: true"
                    : sa
                      ? `leaves automountServiceAccountToken unset and its ServiceAccount ${saName} does not set it to false`
                      : saName === "default"
                        ? "leaves automountServiceAccountToken unset and runs as the namespace's default ServiceAccount"
                        : `leaves automountServiceAccountToken unset and its ServiceAccount ${saName} is not in this input`;
            const orServiceAccount =
                own === undefined && saName !== "default" ? ` (or automountServiceAccountToken: false on ServiceAccount ${saName})` : "";
            report(
                `${w.ref} ${why}, so its pods mount a service account token they do not need: set ` +
                    `spec.template.spec.automountServiceAccountToken: false${orServiceAccount}.`,
                w,
            );
        }
    },
});

export const redisNotExposed = stackRule({
    name: "sec-redis-not-exposed",
    description:
        "No Service that selects Redis pods (data nodes, Sentinels or the proxy) is a NodePort or LoadBalancer or has externalIPs.",
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
            const type = specOf(svc.obj, "Service").type ?? "ClusterIP";
            const ips: unknown[] = listOf(specOf(svc.obj, "Service").externalIPs);
            if (type === "NodePort" || type === "LoadBalancer" || ips.length > 0) {
                const what =
                    ips.length > 0 && type !== "NodePort" && type !== "LoadBalancer"
                        ? `has externalIPs ${ips.join(", ")}`
                        : `is type ${type}`;
                report(
                    `${svc.ref} ${what} and selects Redis pods (${hits.map((h) => h.ref).join(", ")}): Redis would be reachable from ` +
                        `outside the cluster. ` +
                        `Make it type ClusterIP without externalIPs/nodePort; clients inside the cluster use its DNS name.`,
                    svc,
                );
            }
        }
    },
});

/** Reports what is wrong with a data node's AUTH; false when it has none at all. */
function checkRedisServerAuth(model: StackModel, w: Workload, nodes: number, report: (m: string, e?: Entry) => void): boolean {
    const conf = redisServerConfig(model, w);
    const rp = lastDirective(conf.directives, "requirepass");
    const value = rp?.args.join(" ") ?? "";
    if (!rp || value.trim() === "" || value === '""') {
        report(
            `${w.ref} runs Redis without AUTH: anyone who reaches port 6379 can read or FLUSHALL the control plane's state. ` +
                `Add "requirepass <placeholder>" (and "masterauth <placeholder>") to redis.conf and substitute the password at start ` +
                `from a mounted Secret.`,
            w,
        );
        return false;
    }
    const from = conf.requirepassFrom;
    if (from?.kind === "file" && !from.fromSecret && !model.podReadsSecret(w)) {
        report(
            `${w.ref}: requirepass in ${from.owner} (${from.key}) is a literal and the pod reads no Secret: keep the password in a ` +
                `Secret and substitute it at start (mounted Secret file or valueFrom.secretKeyRef).`,
            w,
        );
    } else if (from?.kind === "args") {
        const v = referencedVariable(from.value);
        if (v === undefined) {
            report(
                `${w.ref} passes --requirepass as a literal on the command line: read it from a Secret (an env var with ` +
                    `valueFrom.secretKeyRef, or a mounted Secret file).`,
                w,
            );
        } else {
            const env = serverContainers(w.pod)
                .map((c) => model.resolveEnv(w, c).get(v))
                .find((e) => e !== undefined);
            if (env && env.source !== "secret") {
                report(`${w.ref} takes requirepass from $${v}, which is not set from a Secret: use valueFrom.secretKeyRef.`, w);
            } else if (!env && !model.podReadsSecret(w)) {
                report(
                    `${w.ref} takes requirepass from $${v}, but the pod reads no Secret: mount the password Secret or set ${v} with ` +
                        `valueFrom.secretKeyRef.`,
                    w,
                );
            }
        }
    }
    if (nodes > 1 && !lastDirective(conf.directives, "masterauth")) {
        report(
            `${w.ref} requires AUTH but has no masterauth: replicas cannot authenticate to the primary and replication stops. Add ` +
                `"masterauth <placeholder>" with the same Secret password.`,
            w,
        );
    }
    return true;
}

export const redisAuth = stackRule({
    name: "sec-redis-auth",
    description:
        "Redis requires a password (requirepass, plus masterauth when replicated) that comes from a Secret (mounted Secret file or " +
        "secretKeyRef, never a literal); Sentinels authenticate to Redis (sentinel auth-pass) and require a password themselves.",
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
                        report(
                            `${w.ref}: Sentinel monitors ${m.master} without "sentinel auth-pass ${m.master} <placeholder>": it cannot ` +
                                `talk to a password-protected Redis, so failover never happens. Add it (password from the Secret).`,
                            w,
                        );
                    }
                }
            }
            const rp = lastDirective(ds, "requirepass");
            if (!rp || rp.args.join("").trim() === "") {
                report(
                    `${w.ref}: Sentinel has no requirepass: anyone reaching port 26379 can run SENTINEL FAILOVER/SET/REMOVE. Add ` +
                        `"requirepass <placeholder>" to sentinel.conf, substituted from the Secret.`,
                    w,
                );
            } else if (!model.podReadsSecret(w)) {
                report(
                    `${w.ref}: Sentinel's requirepass is a literal and the pod reads no Secret: substitute it at start from a mounted ` +
                        `Secret.`,
                    w,
                );
            }
        }
    },
});

/** Why an ingress rule to Redis ports lets more than listed pods in, if it does. */
function openIngress(rule: any, ports: Set<number | string>): string | undefined {
    if (!ingressRuleCovers(rule, ports)) {
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
        "Every Redis pod (data node, Sentinel, proxy) is selected by a NetworkPolicy with the Ingress policy type, and every ingress " +
        "rule of those policies that reaches a Redis/Sentinel port admits only selected pods (podSelector), never everything, IP " +
        "blocks or whole namespaces.",
    enforcementLevel: "mandatory",
    protectsAgainst: "Only the controller, the registry, the proxy and Redis peers should reach Redis.",
    fix: "Select every Redis pod with a NetworkPolicy whose ingress rules to Redis ports list client pods by `podSelector` only.",
    amalgam8Specific: true,
    check(model, _cfg, report) {
        const reported = new Set<string>();
        for (const w of redisWorkloads(model)) {
            const isolating = ingressPoliciesFor(model, w);
            if (isolating.length === 0) {
                report(
                    `${w.ref} (Redis) is selected by no NetworkPolicy with policyTypes [Ingress]: every pod in the cluster can reach it. ` +
                        `Add a NetworkPolicy selecting its pods that admits only the controller, the registry, the proxy and Redis peers ` +
                        `(ports 6379/26379).`,
                    w,
                );
                continue;
            }
            for (const n of isolating) {
                for (const rule of ingressRules(n)) {
                    const why = openIngress(rule, redisPortsOf(w));
                    if (why && !reported.has(n.ref + why)) {
                        reported.add(n.ref + why);
                        report(
                            `${n.ref} selects Redis pods but ${why}: list the client pods with from.podSelector (controller, registry, ` +
                                `proxy, Redis peers).`,
                            n,
                        );
                    }
                }
            }
        }
    },
});

export const securityPolicies: Rule[] = [
    noSecretLiterals,
    runAsNonRoot,
    noPrivilegeEscalation,
    capabilitiesDropAll,
    readOnlyRootFs,
    seccompProfile,
    noHostAccess,
    saTokenAutomount,
    redisAuth,
    redisNotExposed,
    redisNetworkPolicy,
];
