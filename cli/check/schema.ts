/**
 * OpenAPI schema validation of Kubernetes objects with kubernetes-models (the generated models
 * carry the upstream schemas). Kinds it has no model for (CRDs, removed APIs) are reported as unknown.
 */
import { K8sObject, splitApiVersion } from "../../policy/lib/k8s";

export type SchemaResult = { status: "valid" } | { status: "invalid"; message: string } | { status: "unknown"; message: string };

type ModelClass = new (data: K8sObject) => { validate(): void };

const cache = new Map<string, ModelClass | undefined>();

function modelClass(apiVersion: string, kind: string): ModelClass | undefined {
    const key = `${apiVersion}/${kind}`;
    if (cache.has(key)) {
        return cache.get(key);
    }
    const { group, version } = splitApiVersion(apiVersion);
    let cls: ModelClass | undefined;
    if (/^[a-z0-9.-]*$/.test(group) && /^v[0-9a-z]+$/.test(version) && /^[A-Z][A-Za-z0-9]*$/.test(kind)) {
        const module = `kubernetes-models/${group ? `${group}/` : ""}${version}`;
        // The kind's own module loads only its schema; the group's index loads every kind of the group.
        for (const id of [`${module}/${kind}`, module]) {
            try {
                const c = (require(id) as Record<string, unknown>)[kind];
                cls = typeof c === "function" ? (c as ModelClass) : undefined;
            } catch {
                cls = undefined;
            }
            if (cls) break;
        }
    }
    cache.set(key, cls);
    return cls;
}

export function validateSchema(obj: K8sObject): SchemaResult {
    const apiVersion = String(obj.apiVersion ?? "");
    const kind = String(obj.kind ?? "");
    const cls = modelClass(apiVersion, kind);
    if (!cls) {
        return { status: "unknown", message: `no schema for ${apiVersion} ${kind} (not a built-in Kubernetes kind, or a removed API)` };
    }
    try {
        new cls(obj).validate();
        return { status: "valid" };
    } catch (e) {
        const err = e as Error;
        return { status: "invalid", message: err.message.replace(/\bdata\//g, "").replace(/^data /, "") };
    }
}
