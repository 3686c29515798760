/**
 * Security: internal-only Services, no secrets written as literals, and pods held to the
 * Kubernetes "restricted" Pod Security Standard. (Redis auth and isolation live in redis.ts.)
 */
import { Container, K8sObject, allContainersOf, containerPorts, kindOf, podTemplateOf, refOf, workloadContainers } from "../lib/k8s";
import { Rule, RuleAbout, resourceRule, stackRule } from "../lib/policy";
import { secretMaterialIn } from "../lib/secrets";
import { stackKeyHint } from "../lib/stackKeys";
import { POD_KINDS } from "./reliability";

function cname(c: Container): string {
    return typeof c.name === "string" ? c.name : "<unnamed>";
}

export const servicesInternal = resourceRule<{ allowLoadBalancerFor: string[]; allowNodePortFor: string[] }>({
    name: "svc-internal-only",
    description: "Services are ClusterIP (or headless): no NodePort, no externalIPs, LoadBalancer only for allow-listed edge Services.",
    enforcementLevel: "mandatory",
    protectsAgainst: "The control plane speaks plain HTTP; exposure should be a deliberate, reviewed choice.",
    fix: "Use `type: ClusterIP` behind an Ingress or Gateway, or allow-list the Service in `allowLoadBalancerFor`/`allowNodePortFor` (stack key `serviceType`).",
    amalgam8Specific: false,
    kinds: ["Service"],
    properties: {
        allowLoadBalancerFor: { type: "array", items: { type: "string" }, default: [], description: "Service names allowed to be LoadBalancers." },
        allowNodePortFor: { type: "array", items: { type: "string" }, default: [], description: "Service names allowed to be NodePorts." },
    },
    check(obj, cfg, report, { urn }) {
        const name = obj.metadata?.name;
        const key = stackKeyHint(urn, obj, "serviceType");
        const type = obj.spec?.type ?? "ClusterIP";
        if (type === "NodePort" && !cfg.allowNodePortFor.includes(name)) {
            report(`${refOf(obj)} is a NodePort: it opens a port on every node. Use type ClusterIP and expose it through an Ingress or Gateway (or allow-list it in allowNodePortFor for a laptop cluster)${key}.`);
        }
        if (type === "LoadBalancer" && !cfg.allowLoadBalancerFor.includes(name)) {
            report(`${refOf(obj)} is a LoadBalancer: it gets a public address. Use type ClusterIP behind an Ingress/Gateway, or allow-list it in allowLoadBalancerFor${key}.`);
        }
        if (Array.isArray(obj.spec?.externalIPs) && obj.spec.externalIPs.length > 0) {
            report(`${refOf(obj)} sets externalIPs ${obj.spec.externalIPs.join(", ")}: remove them (they let traffic for any address be captured).`);
        }
    },
});

export const noSecretLiterals = resourceRule<{ namePattern: string }>({
    name: "sec-no-secret-literals",
    description:
        "No env var whose name looks secret (password, secret, token, key) has a literal value; no literal env value or ConfigMap value holds secret material (PEM private keys, tokens with well-known prefixes); no password-named keys in ConfigMaps. Use Secrets (secretKeyRef or mounted files).",
    enforcementLevel: "mandatory",
    protectsAgainst: "Literals end up in manifests, diffs, logs and the state file.",
    fix: "Move the value to a Secret and reference it with `valueFrom.secretKeyRef` or a mounted file.",
    amalgam8Specific: false,
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
                    report(`${refOf(obj)} container ${cname(c)} sets ${e.name} to ${material} as a literal: store it in a Secret and use valueFrom.secretKeyRef.`);
                } else if (!pathLike.test(e.name) && re.test(e.name) && !/^\$\([A-Za-z0-9_]+\)$/.test(e.value)) {
                    report(`${refOf(obj)} container ${cname(c)} sets ${e.name} as a literal: store it in a Secret and use valueFrom.secretKeyRef.`);
                }
            }
        }
    },
});

/** Every problem of one container (empty when it complies). */
type ContainerCheck = (c: Container, podSC: Record<string, any>) => string[];

/** A per-container PSS check: each problem of each container is its own finding, naming the fix. */
function podSecurityRule(
    name: string,
    description: string,
    about: RuleAbout,
    check: ContainerCheck,
    podCheck?: (spec: Record<string, any>) => string[],
) {
    return resourceRule({
        name,
        description,
        enforcementLevel: "mandatory",
        ...about,
        kinds: POD_KINDS,
        check(obj: K8sObject, _cfg, report) {
            const pod = podTemplateOf(obj);
            if (!pod) {
                return;
            }
            const podSC = pod.spec.securityContext ?? {};
            for (const c of allContainersOf(pod.spec)) {
                for (const problem of check(c, podSC)) {
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
    { protectsAgainst: "The Amalgam8 images have no USER and run as root unless told otherwise.", fix: "Set `runAsNonRoot: true` and a non-zero `runAsUser`.", amalgam8Specific: false },
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
            return ["may run as root (images without USER run as uid 0): set securityContext.runAsNonRoot: true and runAsUser (e.g. 65534; 999 for the redis image)"];
        }
        return [];
    },
);

export const noPrivilegeEscalation = podSecurityRule(
    "sec-no-privilege-escalation",
    "Containers set allowPrivilegeEscalation: false and are not privileged.",
    { protectsAgainst: "A process that gains privileges can escape the container (restricted Pod Security Standard).", fix: "Set `allowPrivilegeEscalation: false` and remove `privileged`.", amalgam8Specific: false },
    (c) => {
        const sc = c.securityContext ?? {};
        const out: string[] = [];
        if (sc.privileged === true) out.push("is privileged: remove securityContext.privileged");
        if (sc.allowPrivilegeEscalation !== false) out.push("does not set securityContext.allowPrivilegeEscalation: false: set it");
        return out;
    },
);

/** Capabilities that give a container power over the node or its network; `ALL` includes them all. */
export const DANGEROUS_CAPABILITIES = new Set([
    "ALL",
    "SYS_ADMIN",
    "NET_ADMIN",
    "NET_RAW",
    "SYS_PTRACE",
    "SYS_MODULE",
    "SYS_RAWIO",
    "SYS_BOOT",
    "SYS_TIME",
    "DAC_READ_SEARCH",
    "BPF",
    "PERFMON",
    "MAC_ADMIN",
    "MAC_OVERRIDE",
]);

export const capabilitiesDropAll = podSecurityRule(
    "sec-capabilities-drop-all",
    "Containers drop ALL capabilities and add none except NET_BIND_SERVICE.",
    { protectsAgainst: "Capabilities such as SYS_ADMIN or NET_ADMIN give a compromised container power over the node (restricted Pod Security Standard).", fix: "Set `capabilities.drop: [ALL]` and add at most `NET_BIND_SERVICE`.", amalgam8Specific: false },
    (c) => {
        const caps = c.securityContext?.capabilities ?? {};
        const drop: unknown[] = Array.isArray(caps.drop) ? caps.drop : [];
        const add: string[] = (Array.isArray(caps.add) ? caps.add : []).map((a: unknown) => String(a).toUpperCase().replace(/^CAP_/, ""));
        const out: string[] = [];
        const dangerous = add.filter((a) => DANGEROUS_CAPABILITIES.has(a));
        const other = add.filter((a) => a !== "NET_BIND_SERVICE" && !DANGEROUS_CAPABILITIES.has(a));
        if (dangerous.length > 0) {
            out.push(
                `adds the dangerous ${dangerous.length === 1 ? "capability" : "capabilities"} ${dangerous.join(", ")}${dangerous.includes("ALL") ? " (ALL grants every capability, SYS_ADMIN included)" : ""}: remove ${dangerous.length === 1 ? "it" : "them"} from securityContext.capabilities.add`,
            );
        }
        if (other.length > 0) out.push(`adds ${other.length === 1 ? "the capability" : "the capabilities"} ${other.join(", ")}: remove ${other.length === 1 ? "it" : "them"} (only NET_BIND_SERVICE is allowed)`);
        if (!drop.includes("ALL")) out.push("does not drop all capabilities: set securityContext.capabilities.drop: [ALL]");
        return out;
    },
);

export const readOnlyRootFs = podSecurityRule(
    "sec-read-only-root-fs",
    "Containers run with readOnlyRootFilesystem: true (writable paths come from emptyDir or PVC mounts).",
    { protectsAgainst: "An attacker cannot drop binaries; the services write nothing to disk.", fix: "Set `readOnlyRootFilesystem: true` and mount an emptyDir where the process writes.", amalgam8Specific: false },
    (c) =>
        c.securityContext?.readOnlyRootFilesystem === true
            ? []
            : ["has a writable root filesystem: set securityContext.readOnlyRootFilesystem: true and mount an emptyDir where it must write"],
);

export const seccompProfile = podSecurityRule(
    "sec-seccomp-profile",
    "Every container runs with seccompProfile RuntimeDefault or Localhost (pod or container level).",
    { protectsAgainst: "Unfiltered system calls widen the kernel attack surface (restricted Pod Security Standard).", fix: "Set `securityContext.seccompProfile.type: RuntimeDefault` on the pod.", amalgam8Specific: false },
    (c, podSC) => {
        const t = c.securityContext?.seccompProfile?.type ?? podSC.seccompProfile?.type;
        return t === "RuntimeDefault" || t === "Localhost" ? [] : [`has seccompProfile ${t ?? "unset"}: set spec.securityContext.seccompProfile.type: RuntimeDefault`];
    },
);

export const noHostAccess = podSecurityRule(
    "sec-no-host-access",
    "Pods use no host namespaces (hostNetwork, hostPID, hostIPC), no hostPort, no hostPath volumes and no non-default procMount.",
    { protectsAgainst: "Host namespaces, ports and paths break pod isolation.", fix: "Remove hostNetwork/hostPID/hostIPC, hostPort, hostPath volumes and non-default procMount.", amalgam8Specific: false },
    (c) => {
        const out: string[] = [];
        const hp = containerPorts(c).filter((p) => typeof p?.hostPort === "number" && p.hostPort !== 0);
        if (hp.length > 0) out.push(`binds hostPort ${hp.map((p) => p.hostPort).join(", ")}: remove hostPort and reach it through a Service`);
        if (c.securityContext?.procMount && c.securityContext.procMount !== "Default") out.push(`sets procMount ${c.securityContext.procMount}: remove it`);
        return out;
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

export const saTokenAutomount = stackRule({
    name: "sec-sa-token-automount",
    description:
        "Advisory: pods that never call the Kubernetes API do not mount a service account token: automountServiceAccountToken false on the pod, or unset on the pod and false on its ServiceAccount (as Kubernetes decides).",
    enforcementLevel: "advisory",
    protectsAgainst: "A mounted token lets a compromised pod call the Kubernetes API.",
    fix: "Set `automountServiceAccountToken: false` on the pod or on its ServiceAccount.",
    amalgam8Specific: false,
    check(model, _cfg, report) {
        for (const w of model.workloads) {
            const own = w.pod.spec.automountServiceAccountToken;
            if (own === false) continue;
            const saName = typeof w.pod.spec.serviceAccountName === "string" && w.pod.spec.serviceAccountName !== "" ? w.pod.spec.serviceAccountName : "default";
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
            const orServiceAccount = own === undefined && saName !== "default" ? ` (or automountServiceAccountToken: false on ServiceAccount ${saName})` : "";
            report(
                `${w.ref} ${why}, so its pods mount a service account token they do not need: set spec.template.spec.automountServiceAccountToken: false${orServiceAccount}.`,
                w,
            );
        }
    },
});

export const securityPolicies: Rule[] = [
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
