/**
 * Security: internal-only Services, no secrets written as literals, and pods held to the
 * Kubernetes "restricted" Pod Security Standard. (Redis auth and isolation live in redis.ts.)
 */
import { Policies } from "@pulumi/policy";
import { Container, K8sObject, allContainersOf, containerPorts, kindOf, podTemplateOf, refOf, workloadContainers } from "../lib/k8s";
import { resourceRule } from "../lib/policy";
import { POD_KINDS } from "./reliability";

function cname(c: Container): string {
    return typeof c.name === "string" ? c.name : "<unnamed>";
}

export const servicesInternal = resourceRule<{ allowLoadBalancerFor: string[]; allowNodePortFor: string[] }>({
    name: "svc-internal-only",
    description: "Services are ClusterIP (or headless): no NodePort, no externalIPs, LoadBalancer only for allow-listed edge Services.",
    enforcementLevel: "mandatory",
    kinds: ["Service"],
    properties: {
        allowLoadBalancerFor: { type: "array", items: { type: "string" }, default: [], description: "Service names allowed to be LoadBalancers." },
        allowNodePortFor: { type: "array", items: { type: "string" }, default: [], description: "Service names allowed to be NodePorts." },
    },
    check(obj, cfg, report) {
        const name = obj.metadata?.name;
        const type = obj.spec?.type ?? "ClusterIP";
        if (type === "NodePort" && !cfg.allowNodePortFor.includes(name)) {
            report(`${refOf(obj)} is a NodePort: it opens a port on every node. Use type ClusterIP and expose it through an Ingress or Gateway (or allow-list it in allowNodePortFor for a laptop cluster).`);
        }
        if (type === "LoadBalancer" && !cfg.allowLoadBalancerFor.includes(name)) {
            report(`${refOf(obj)} is a LoadBalancer: it gets a public address. Use type ClusterIP behind an Ingress/Gateway, or allow-list it in allowLoadBalancerFor.`);
        }
        if (Array.isArray(obj.spec?.externalIPs) && obj.spec.externalIPs.length > 0) {
            report(`${refOf(obj)} sets externalIPs ${obj.spec.externalIPs.join(", ")}: remove them (they let traffic for any address be captured).`);
        }
    },
});

export const noSecretLiterals = resourceRule<{ namePattern: string }>({
    name: "sec-no-secret-literals",
    description:
        "No env var whose name looks secret (password, secret, token, key) has a literal value; no private keys or password-named keys in ConfigMaps. Use Secrets (secretKeyRef or mounted files).",
    enforcementLevel: "mandatory",
    kinds: [...POD_KINDS, "ConfigMap"],
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
                if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text)) {
                    report(`${refOf(obj)} key ${k} holds a private key: move it to a Secret.`);
                } else if (re.test(k) && !/\.(conf|cfg|sh|ya?ml|json|ini|toml)$/i.test(k) && text.trim() !== "") {
                    report(`${refOf(obj)} key ${k} looks like a secret: move it to a Secret.`);
                }
            }
            return;
        }
        for (const c of workloadContainers(obj)) {
            for (const e of Array.isArray(c.env) ? c.env : []) {
                if (!e || typeof e.name !== "string" || e.valueFrom || pathLike.test(e.name) || !re.test(e.name)) {
                    continue;
                }
                if (typeof e.value === "string" && e.value !== "" && !/^\$\([A-Za-z0-9_]+\)$/.test(e.value)) {
                    report(`${refOf(obj)} container ${cname(c)} sets ${e.name} as a literal: store it in a Secret and use valueFrom.secretKeyRef.`);
                }
            }
        }
    },
});

type ContainerCheck = (c: Container, podSC: Record<string, any>) => string | undefined;

/** A per-container PSS check reported once per workload, naming the containers and the fix. */
function podSecurityRule(name: string, description: string, check: ContainerCheck, podCheck?: (spec: Record<string, any>) => string[]) {
    return resourceRule({
        name,
        description,
        enforcementLevel: "mandatory",
        kinds: POD_KINDS,
        check(obj: K8sObject, _cfg, report) {
            const pod = podTemplateOf(obj);
            if (!pod) {
                return;
            }
            const podSC = pod.spec.securityContext ?? {};
            for (const c of allContainersOf(pod.spec)) {
                const problem = check(c, podSC);
                if (problem) {
                    report(`${refOf(obj)} container ${cname(c)} ${problem}.`);
                }
            }
            for (const p of podCheck ? podCheck(pod.spec) : []) {
                report(`${refOf(obj)} ${p}.`);
            }
        },
    });
}

export const runAsNonRoot = podSecurityRule(
    "sec-run-as-non-root",
    "Containers run as a non-root user: runAsNonRoot true or a non-zero runAsUser (pod or container level), never runAsUser 0.",
    (c, podSC) => {
        const sc = c.securityContext ?? {};
        const nonRoot = sc.runAsNonRoot ?? podSC.runAsNonRoot;
        const uid = sc.runAsUser ?? podSC.runAsUser;
        if (uid === 0) {
            return "runs as uid 0 (runAsUser: 0): set runAsUser to a non-zero uid (e.g. 65534) and runAsNonRoot: true";
        }
        if (nonRoot === false && !(typeof uid === "number" && uid > 0)) {
            return "sets runAsNonRoot: false: set runAsNonRoot: true with a non-zero runAsUser";
        }
        if (nonRoot !== true && !(typeof uid === "number" && uid > 0)) {
            return "may run as root (images without USER run as uid 0): set securityContext.runAsNonRoot: true and runAsUser (e.g. 65534; 999 for the redis image)";
        }
        return undefined;
    },
);

export const noPrivilegeEscalation = podSecurityRule(
    "sec-no-privilege-escalation",
    "Containers set allowPrivilegeEscalation: false and are not privileged.",
    (c) => {
        const sc = c.securityContext ?? {};
        if (sc.privileged === true) return "is privileged: remove securityContext.privileged";
        if (sc.allowPrivilegeEscalation !== false) return "does not set securityContext.allowPrivilegeEscalation: false: set it";
        return undefined;
    },
);

export const capabilitiesDropAll = podSecurityRule(
    "sec-capabilities-drop-all",
    "Containers drop ALL capabilities and add none except NET_BIND_SERVICE.",
    (c) => {
        const caps = c.securityContext?.capabilities ?? {};
        const drop: unknown[] = Array.isArray(caps.drop) ? caps.drop : [];
        const add: unknown[] = Array.isArray(caps.add) ? caps.add : [];
        const extra = add.filter((a) => a !== "NET_BIND_SERVICE");
        if (!drop.includes("ALL")) return "does not drop all capabilities: set securityContext.capabilities.drop: [ALL]";
        if (extra.length > 0) return `adds capabilities ${extra.join(", ")}: remove them (only NET_BIND_SERVICE is allowed)`;
        return undefined;
    },
);

export const readOnlyRootFs = podSecurityRule(
    "sec-read-only-root-fs",
    "Containers run with readOnlyRootFilesystem: true (writable paths come from emptyDir or PVC mounts).",
    (c) =>
        c.securityContext?.readOnlyRootFilesystem === true
            ? undefined
            : "has a writable root filesystem: set securityContext.readOnlyRootFilesystem: true and mount an emptyDir where it must write",
);

export const seccompProfile = podSecurityRule(
    "sec-seccomp-profile",
    "Every container runs with seccompProfile RuntimeDefault or Localhost (pod or container level).",
    (c, podSC) => {
        const t = c.securityContext?.seccompProfile?.type ?? podSC.seccompProfile?.type;
        return t === "RuntimeDefault" || t === "Localhost"
            ? undefined
            : `has seccompProfile ${t ?? "unset"}: set spec.securityContext.seccompProfile.type: RuntimeDefault`;
    },
);

export const noHostAccess = podSecurityRule(
    "sec-no-host-access",
    "Pods use no host namespaces (hostNetwork, hostPID, hostIPC), no hostPort and no hostPath volumes.",
    (c) => {
        const hp = containerPorts(c).filter((p) => typeof p?.hostPort === "number" && p.hostPort !== 0);
        if (hp.length > 0) return `binds hostPort ${hp.map((p) => p.hostPort).join(", ")}: remove hostPort and reach it through a Service`;
        if (c.securityContext?.procMount && c.securityContext.procMount !== "Default") return `sets procMount ${c.securityContext.procMount}: remove it`;
        return undefined;
    },
    (spec) => {
        const out: string[] = [];
        for (const f of ["hostNetwork", "hostPID", "hostIPC"]) {
            if (spec[f] === true) out.push(`sets ${f}: true: remove it (the pod would share the node's ${f.slice(4)} namespace)`);
        }
        for (const v of Array.isArray(spec.volumes) ? spec.volumes : []) {
            if (v?.hostPath) out.push(`mounts hostPath ${v.hostPath.path} (volume ${v.name}): use an emptyDir, ConfigMap, Secret or PVC instead`);
        }
        return out;
    },
);

export const saTokenAutomount = resourceRule({
    name: "sec-sa-token-automount",
    description: "Advisory: pods that never call the Kubernetes API set automountServiceAccountToken: false.",
    enforcementLevel: "advisory",
    kinds: POD_KINDS,
    check(obj, _cfg, report) {
        const pod = podTemplateOf(obj);
        if (pod && pod.spec.automountServiceAccountToken !== false) {
            report(`${refOf(obj)} mounts a service account token it does not need: set spec.automountServiceAccountToken: false.`);
        }
    },
});

export const securityPolicies: Policies = [
    servicesInternal,
    noSecretLiterals,
    runAsNonRoot,
    noPrivilegeEscalation,
    capabilitiesDropAll,
    readOnlyRootFs,
    seccompProfile,
    noHostAccess,
    saTokenAutomount,
];
