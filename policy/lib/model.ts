/**
 * A view of the whole stack for stack-level policies: Kubernetes objects with their pod templates,
 * and the relations the rules need (Service -> workloads, PDB -> workloads, HPA -> target,
 * mounted ConfigMaps/Secrets, resolved env values).
 */
import {
    Container,
    K8sObject,
    PodTemplate,
    allContainersOf,
    asK8sObject,
    declaredReplicas,
    kindOf,
    nameOf,
    namespaceOf,
    podTemplateOf,
    refOf,
    specOf,
} from "./k8s";
import { REPLICATED_KINDS } from "./kinds";
import { LabelSelector, matchesLabelSelector, matchesMapSelector } from "./selector";
import { RedisRole, podRedisRole } from "./redis";
import { A8Role, a8RoleOf } from "./amalgam8";
import { UnknownValueError } from "@pulumi/policy";

/**
 * Reads a field that a preview may not know yet (a Secret's generated data): undefined then, where
 * the pack's proxy would throw and turn the whole policy into a "cannot run during preview" advisory.
 */
function ifKnown<T>(read: () => T): T | undefined {
    try {
        return read();
    } catch (e) {
        if (e instanceof UnknownValueError) return undefined;
        throw e;
    }
}

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

/** Lists by key, for lookups that would otherwise scan every object of a large input. */
function groupBy<T>(items: T[], key: (t: T) => string): Map<string, T[]> {
    const m = new Map<string, T[]>();
    for (const t of items) {
        const k = key(t);
        const list = m.get(k);
        if (list) list.push(t);
        else m.set(k, [t]);
    }
    return m;
}

export class StackModel {
    readonly entries: Entry[] = [];
    readonly workloads: Workload[] = [];
    readonly byUrn = new Map<string, Entry>();
    private readonly byKind: Map<string, Entry[]>;
    /** `kind/namespace` -> entries. */
    private readonly byKindNs: Map<string, Entry[]>;
    /** `kind/namespace/name` -> entry (the first, as `find` always returned). */
    private readonly byId = new Map<string, Entry>();
    private readonly workloadsByNs: Map<string, Workload[]>;
    private readonly memo = new Map<string, unknown>();

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
        this.byKind = groupBy(this.entries, (e) => e.kind);
        this.byKindNs = groupBy(this.entries, (e) => `${e.kind}/${e.namespace}`);
        for (const e of this.entries) {
            const id = `${e.kind}/${e.namespace}/${e.name}`;
            if (!this.byId.has(id)) this.byId.set(id, e);
        }
        const hpas = groupBy(this.ofKind("HorizontalPodAutoscaler"), (h) => {
            const target = specOf(h.obj, "HorizontalPodAutoscaler").scaleTargetRef;
            return `${h.namespace}/${target?.kind}/${target?.name}`;
        });
        for (const e of this.entries) {
            const pod = podTemplateOf(e.obj);
            if (!pod) {
                continue;
            }
            const hpa = hpas.get(`${e.namespace}/${e.kind}/${e.name}`)?.[0];
            const declared = declaredReplicas(e.obj);
            const hpaMinReplicas = hpa ? specOf(hpa.obj, "HorizontalPodAutoscaler").minReplicas : undefined;
            const hpaMin = hpa ? (typeof hpaMinReplicas === "number" ? hpaMinReplicas : 1) : undefined;
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
        this.workloadsByNs = groupBy(this.workloads, (w) => w.namespace);
    }

    /** Computes a whole-stack view once per model: several rules ask for the same one. */
    cached<T>(key: string, compute: () => T): T {
        if (!this.memo.has(key)) this.memo.set(key, compute());
        return this.memo.get(key) as T;
    }

    ofKind(...kinds: string[]): Entry[] {
        if (kinds.length === 1) return this.byKind.get(kinds[0]) ?? [];
        return this.entries.filter((e) => kinds.includes(e.kind));
    }

    private ofKindIn(kind: string, namespace: string): Entry[] {
        return this.byKindNs.get(`${kind}/${namespace}`) ?? [];
    }

    /** Workloads that keep replicas running (not Jobs, not bare Pods, not DaemonSets). */
    replicated(): Workload[] {
        return this.workloads.filter((w) => REPLICATED_KINDS.includes(w.kind));
    }

    /** Replicated workloads that serve without holding state: the Amalgam8 services, Redis proxies, other Service-backed pods. */
    statelessServing(): Workload[] {
        return this.replicated().filter(
            (w) => w.a8Role !== undefined || w.redisRole === "proxy" || (w.redisRole === undefined && this.servicesFor(w).length > 0),
        );
    }

    find(kind: string, namespace: string, name: string): Entry | undefined {
        return this.byId.get(`${kind}/${namespace}/${name}`);
    }

    /** Workloads of one namespace. */
    workloadsIn(namespace: string): Workload[] {
        return this.workloadsByNs.get(namespace) ?? [];
    }

    /** Workloads whose pods a Service's selector picks, in its namespace. */
    serviceTargets(svc: Entry): Workload[] {
        const sel = specOf(svc.obj, "Service").selector as Record<string, string> | undefined;
        return this.workloadsIn(svc.namespace).filter((w) => matchesMapSelector(sel, w.pod.labels));
    }

    servicesFor(w: Workload): Entry[] {
        return this.ofKindIn("Service", w.namespace).filter((s) => matchesMapSelector(specOf(s.obj, "Service").selector, w.pod.labels));
    }

    pdbsFor(w: Workload): Entry[] {
        return this.ofKindIn("PodDisruptionBudget", w.namespace).filter((p) =>
            matchesLabelSelector(specOf(p.obj, "PodDisruptionBudget").selector as LabelSelector, w.pod.labels),
        );
    }

    pdbTargets(pdb: Entry): Workload[] {
        return this.workloadsIn(pdb.namespace).filter((w) =>
            matchesLabelSelector(specOf(pdb.obj, "PodDisruptionBudget").selector as LabelSelector, w.pod.labels),
        );
    }

    networkPoliciesFor(w: Workload): Entry[] {
        return this.ofKindIn("NetworkPolicy", w.namespace).filter((n) =>
            matchesLabelSelector(specOf(n.obj, "NetworkPolicy").podSelector as LabelSelector, w.pod.labels),
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
                const data = ifKnown(() => owner.obj[field]);
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
                const keys = (field: "data" | "stringData") => ifKnown(() => Object.keys(s?.obj[field] ?? {})) ?? [];
                for (const k of [...keys("data"), ...keys("stringData")]) {
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
                const cm = this.find("ConfigMap", w.namespace, vf.configMapKeyRef.name ?? "");
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
