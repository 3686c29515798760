/**
 * Objects rendered by this project's program come from its stack configuration: a finding on such
 * an object names the stack key to change, not only the manifest field. The program's components
 * appear in the resource URN's type chain; hand-written manifests have none and get no key.
 */
import { K8sObject, kindOf, labelsOf } from "./k8s";

/** What a finding is about, in terms a stack key can set. */
export type StackField = "replicas" | "minReplicas" | "maxReplicas" | "image" | "resources" | "serviceType" | "storage";

interface Source {
    /** Nearest component type in the URN. */
    component: string;
    kind: string;
    /** `app.kubernetes.io/name` of the object. */
    name: string;
    keys: Partial<Record<StackField, string>>;
}

function apiService(role: "controller" | "registry"): Source[] {
    return [
        {
            component: "amalgam8:index:ApiService",
            kind: "Deployment",
            name: role,
            keys: { replicas: `${role}.replicas`, image: `${role}.image`, resources: `${role}.resources` },
        },
        {
            component: "amalgam8:index:ApiService",
            kind: "HorizontalPodAutoscaler",
            name: role,
            keys: {
                replicas: `${role}.autoscaling.minReplicas`,
                minReplicas: `${role}.autoscaling.minReplicas`,
                maxReplicas: `${role}.autoscaling.maxReplicas`,
            },
        },
        { component: "amalgam8:index:ApiService", kind: "Service", name: role, keys: { serviceType: "serviceType" } },
    ];
}

/** The program's objects whose fields come from stack keys (see components/config.ts). */
export const STACK_KEY_SOURCES: readonly Source[] = [
    ...apiService("controller"),
    ...apiService("registry"),
    {
        component: "amalgam8:redis:RedisProxy",
        kind: "Deployment",
        name: "redis-haproxy",
        keys: { replicas: "redis.haproxy.replicas", image: "redis.haproxy.image", resources: "redis.haproxy.resources" },
    },
    {
        component: "amalgam8:redis:RedisNodes",
        kind: "StatefulSet",
        name: "redis-node",
        keys: { replicas: "redis.nodes", image: "redis.image", resources: "redis.resources", storage: "redis.storageSize" },
    },
    {
        component: "amalgam8:redis:RedisStandalone",
        kind: "StatefulSet",
        name: "redis",
        // One standalone node by design: more nodes means redis.mode ha.
        keys: { replicas: "redis.mode", image: "redis.image", resources: "redis.resources", storage: "redis.storageSize" },
    },
];

/** `project` and nearest component type of a URN `urn:pulumi:<stack>::<project>::<a>$<b>$<type>::<name>`. */
function urnParts(urn: string): { project: string; component?: string } | undefined {
    const parts = urn.split("::");
    if (parts.length < 4 || !parts[0].startsWith("urn:pulumi:")) return undefined;
    const chain = parts[2].split("$");
    return { project: parts[1], component: chain.length > 1 ? chain[chain.length - 2] : undefined };
}

/** `a8-control-plane:redis.haproxy.replicas` when the object was rendered from a stack, else undefined. */
export function stackKeyOf(urn: string | undefined, obj: K8sObject, field: StackField): string | undefined {
    const p = urn ? urnParts(urn) : undefined;
    if (!p?.component) return undefined;
    const name = labelsOf(obj)["app.kubernetes.io/name"];
    const src = STACK_KEY_SOURCES.find((s) => s.component === p.component && s.kind === kindOf(obj) && s.name === name);
    const key = src?.keys[field];
    return key ? `${p.project}:${key}` : undefined;
}

/** ` (stack key a8-control-plane:redis.haproxy.replicas)`, or "" for objects not rendered from a stack. */
export function stackKeyHint(urn: string | undefined, obj: K8sObject, field: StackField): string {
    const key = stackKeyOf(urn, obj, field);
    return key ? ` (stack key ${key})` : "";
}
