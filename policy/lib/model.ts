/**
 * A view of the whole stack for stack-level policies: Kubernetes objects with their pod templates,
 * and the relations the rules need (Service -> workloads, PDB -> workloads, HPA -> target,
 * mounted ConfigMaps/Secrets, resolved env values).
 */
import {
    Container,
    K8sObject,
    PodTemplate,
    REPLICATED_KINDS,
    allContainersOf,
    asK8sObject,
    declaredReplicas,
    kindOf,
    nameOf,
    namespaceOf,
    podTemplateOf,
    refOf,
} from "./k8s";
import { LabelSelector, matchesLabelSelector, matchesMapSelector } from "./selector";
import { RedisRole, podRedisRole } from "./redis";
import { A8Role, a8RoleOf } from "./amalgam8";

/** What the model needs from a resource (a CrossGuard PolicyResource fits). */
export interface ResourceLike {
    type: string;
    props: Record<string, any>;
    urn: string;
    name?: string;
}

export interface Entry {
    obj: K8sObject;
    urn: string;
    kind: string;
    name: string;
    namespace: string;
    /** `Kind/name`. */
    ref: string;
}

export interface Workload extends Entry {
    pod: PodTemplate;
    /** `spec.replicas` as declared (unset = 1). */
    declaredReplicas: number;
    /** Replicas the workload keeps at least: the HPA's minReplicas when one targets it. */
    replicas: number;
    hpa?: Entry;
    a8Role?: A8Role;
    redisRole?: RedisRole;
}

/** A literal, Secret, ConfigMap or otherwise-sourced env value after resolution. */
export type EnvValue =
    | { source: "literal"; value: string }
    | { source: "secret"; secretName?: string; key?: string }
    | { source: "configMap"; value?: string }
    | { source: "other" };

export interface DataFile {
    /** ConfigMap/Secret data key, i.e. the file name when mounted. */
    key: string;
    text: string;
    fromSecret: boolean;
    owner: Entry;
}

function decodeBase64(v: unknown): string {
    if (typeof v !== "string") {
        return "";
    }
    try {
        return Buffer.from(v, "base64").toString("utf8");
    } catch {
        return "";
    }
}

export class StackModel {
    readonly entries: Entry[] = [];
    readonly workloads: Workload[] = [];
    readonly byUrn = new Map<string, Entry>();

    constructor(resources: ResourceLike[]) {
        for (const r of resources) {
            const obj = asK8sObject(r.type, r.props);
            if (!obj) {
                continue;
            }
            const e: Entry = { obj, urn: r.urn, kind: kindOf(obj), name: nameOf(obj), namespace: namespaceOf(obj), ref: refOf(obj) };
            this.entries.push(e);
            this.byUrn.set(r.urn, e);
        }
        const hpas = this.ofKind("HorizontalPodAutoscaler");
        for (const e of this.entries) {
            const pod = podTemplateOf(e.obj);
            if (!pod) {
                continue;
            }
            const hpa = hpas.find(
                (h) =>
                    h.namespace === e.namespace &&
                    h.obj.spec?.scaleTargetRef?.kind === e.kind &&
                    h.obj.spec?.scaleTargetRef?.name === e.name,
            );
            const declared = declaredReplicas(e.obj);
            const hpaMin = hpa ? (typeof hpa.obj.spec?.minReplicas === "number" ? hpa.obj.spec.minReplicas : 1) : undefined;
            this.workloads.push({
                ...e,
                pod,
                declaredReplicas: declared,
                replicas: hpaMin ?? declared,
                hpa,
                a8Role: a8RoleOf(pod),
                redisRole: podRedisRole(pod),
            });
        }
    }

    ofKind(...kinds: string[]): Entry[] {
        return this.entries.filter((e) => kinds.includes(e.kind));
    }

    /** Workloads that keep replicas running (not Jobs, not bare Pods, not DaemonSets). */
    replicated(): Workload[] {
        return this.workloads.filter((w) => REPLICATED_KINDS.includes(w.kind));
    }

    find(kind: string, namespace: string, name: string): Entry | undefined {
        return this.entries.find((e) => e.kind === kind && e.namespace === namespace && e.name === name);
    }

    /** Workloads whose pods a Service's selector picks, in its namespace. */
    serviceTargets(svc: Entry): Workload[] {
        const sel = svc.obj.spec?.selector as Record<string, string> | undefined;
        return this.workloads.filter((w) => w.namespace === svc.namespace && matchesMapSelector(sel, w.pod.labels));
    }

    servicesFor(w: Workload): Entry[] {
        return this.ofKind("Service").filter((s) => s.namespace === w.namespace && matchesMapSelector(s.obj.spec?.selector, w.pod.labels));
    }

    pdbsFor(w: Workload): Entry[] {
        return this.ofKind("PodDisruptionBudget").filter(
            (p) => p.namespace === w.namespace && matchesLabelSelector(p.obj.spec?.selector as LabelSelector, w.pod.labels),
        );
    }

    pdbTargets(pdb: Entry): Workload[] {
        return this.workloads.filter(
            (w) => w.namespace === pdb.namespace && matchesLabelSelector(pdb.obj.spec?.selector as LabelSelector, w.pod.labels),
        );
    }

    networkPoliciesFor(w: Workload): Entry[] {
        return this.ofKind("NetworkPolicy").filter(
            (n) => n.namespace === w.namespace && matchesLabelSelector(n.obj.spec?.podSelector as LabelSelector, w.pod.labels),
        );
    }

    /**
     * Data of ConfigMaps and Secrets the pod mounts as volumes (directly or projected), for keys
     * that pass `wanted`. Other values are never read: during a preview a Secret's password is
     * often unknown, and touching it would turn the whole policy into a "cannot run" advisory.
     */
    mountedFiles(w: Workload, wanted: (key: string) => boolean = (k) => /\.conf$/i.test(k)): DataFile[] {
        const out: DataFile[] = [];
        const add = (kind: "ConfigMap" | "Secret", name: unknown, items?: unknown) => {
            if (typeof name !== "string") {
                return;
            }
            const owner = this.find(kind, w.namespace, name);
            if (!owner) {
                return;
            }
            const keyMap = new Map<string, string>();
            if (Array.isArray(items)) {
                for (const it of items) {
                    if (it && typeof it.key === "string") keyMap.set(it.key, typeof it.path === "string" ? it.path : it.key);
                }
            }
            const each = (field: "data" | "stringData", decode: boolean) => {
                const data = owner.obj[field];
                if (!data || typeof data !== "object") {
                    return;
                }
                for (const k of Object.keys(data)) {
                    if (keyMap.size > 0 && !keyMap.has(k)) continue;
                    const file = keyMap.get(k) ?? k;
                    if (!wanted(file)) continue;
                    const v = data[k];
                    out.push({ key: file, text: decode ? decodeBase64(v) : String(v ?? ""), fromSecret: kind === "Secret", owner });
                }
            };
            each("data", kind === "Secret");
            each("stringData", false);
        };
        for (const v of Array.isArray(w.pod.spec.volumes) ? w.pod.spec.volumes : []) {
            if (v?.configMap) add("ConfigMap", v.configMap.name, v.configMap.items);
            if (v?.secret) add("Secret", v.secret.secretName, v.secret.items);
            for (const s of Array.isArray(v?.projected?.sources) ? v.projected.sources : []) {
                if (s?.configMap) add("ConfigMap", s.configMap.name, s.configMap.items);
                if (s?.secret) add("Secret", s.secret.name, s.secret.items);
            }
        }
        return out;
    }

    /** Env of a container after envFrom and env, ConfigMap values resolved where the stack has them. */
    resolveEnv(w: Workload, c: Container): Map<string, EnvValue> {
        const env = new Map<string, EnvValue>();
        for (const ef of Array.isArray(c.envFrom) ? c.envFrom : []) {
            const prefix = typeof ef?.prefix === "string" ? ef.prefix : "";
            if (ef?.configMapRef?.name) {
                const cm = this.find("ConfigMap", w.namespace, ef.configMapRef.name);
                for (const [k, v] of Object.entries(cm?.obj.data ?? {})) {
                    env.set(prefix + k, { source: "configMap", value: String(v) });
                }
            }
            if (ef?.secretRef?.name) {
                const s = this.find("Secret", w.namespace, ef.secretRef.name);
                for (const k of [...Object.keys(s?.obj.data ?? {}), ...Object.keys(s?.obj.stringData ?? {})]) {
                    env.set(prefix + k, { source: "secret", secretName: ef.secretRef.name, key: k });
                }
            }
        }
        for (const e of Array.isArray(c.env) ? c.env : []) {
            if (!e || typeof e.name !== "string") {
                continue;
            }
            const vf = e.valueFrom;
            if (vf?.secretKeyRef) {
                env.set(e.name, { source: "secret", secretName: vf.secretKeyRef.name, key: vf.secretKeyRef.key });
            } else if (vf?.configMapKeyRef) {
                const cm = this.find("ConfigMap", w.namespace, vf.configMapKeyRef.name);
                const val = cm?.obj.data?.[vf.configMapKeyRef.key];
                env.set(e.name, { source: "configMap", value: typeof val === "string" ? val : undefined });
            } else if (vf) {
                env.set(e.name, { source: "other" });
            } else {
                env.set(e.name, { source: "literal", value: e.value === undefined || e.value === null ? "" : String(e.value) });
            }
        }
        return env;
    }

    /** True when the pod reads some Secret: a Secret volume, a secretKeyRef or a secretRef. */
    podReadsSecret(w: Workload): boolean {
        for (const v of Array.isArray(w.pod.spec.volumes) ? w.pod.spec.volumes : []) {
            if (v?.secret?.secretName) return true;
            if ((Array.isArray(v?.projected?.sources) ? v.projected.sources : []).some((s: any) => s?.secret?.name)) return true;
        }
        return allContainersOf(w.pod.spec).some(
            (c) =>
                (Array.isArray(c.env) ? c.env : []).some((e: any) => e?.valueFrom?.secretKeyRef) ||
                (Array.isArray(c.envFrom) ? c.envFrom : []).some((e: any) => e?.secretRef),
        );
    }
}
