/**
 * Kubernetes object helpers shared by the policies: type tokens, references, pod specs.
 * Objects arrive as plain JSON (resource inputs), so everything here is defensive about shape.
 */
import type { IContainer } from "kubernetes-models/v1/Container";
import type { IContainerPort } from "kubernetes-models/v1/ContainerPort";
import type { IPodSpec } from "kubernetes-models/v1/PodSpec";
import type { IServiceSpec } from "kubernetes-models/v1/ServiceSpec";
import type { IDeploymentSpec } from "kubernetes-models/apps/v1/DeploymentSpec";
import type { IStatefulSetSpec } from "kubernetes-models/apps/v1/StatefulSetSpec";
import type { IHorizontalPodAutoscalerSpec } from "kubernetes-models/autoscaling/v2/HorizontalPodAutoscalerSpec";
import type { INetworkPolicySpec } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicySpec";
import type { IPodDisruptionBudgetSpec } from "kubernetes-models/policy/v1/PodDisruptionBudgetSpec";
import { REPLICATED_KINDS, WORKLOAD_KINDS } from "./kinds";

/** A Kubernetes object as a plain JSON value. */
export type K8sObject = Record<string, any>;

export interface GroupVersionKind {
    /** `v1`, `apps/v1`, `networking.k8s.io/v1`. */
    apiVersion: string;
    group: string;
    version: string;
    kind: string;
}

/**
 * Pulumi type tokens of Kubernetes objects look like `kubernetes:apps/v1:Deployment`; the core
 * group is spelled `core`. Components (`kubernetes:yaml/v2:ConfigGroup`, `kubernetes:helm.sh/v4:Chart`)
 * and Helm releases are not objects the API server stores, so they are excluded.
 */
const NOT_OBJECTS = new Set([
    "kubernetes:helm.sh/v3:Release",
    "kubernetes:helm.sh/v3:Chart",
    "kubernetes:helm.sh/v4:Chart",
    "kubernetes:kustomize:Directory",
    "kubernetes:kustomize/v2:Directory",
    "kubernetes:yaml:ConfigFile",
    "kubernetes:yaml:ConfigGroup",
    "kubernetes:yaml/v2:ConfigFile",
    "kubernetes:yaml/v2:ConfigGroup",
]);

export function parseTypeToken(type: string): GroupVersionKind | undefined {
    if (NOT_OBJECTS.has(type)) {
        return undefined;
    }
    const m = /^kubernetes:([^:/]+)\/([^:/]+):([A-Za-z0-9]+)$/.exec(type);
    if (!m) {
        return undefined;
    }
    const [, group, version, kind] = m;
    if (kind.endsWith("List") || kind.endsWith("Patch")) {
        // Lists and server-side-apply patches are not standalone objects.
        return undefined;
    }
    const coreGroup = group === "core" ? "" : group;
    return { group: coreGroup, version, kind, apiVersion: coreGroup ? `${coreGroup}/${version}` : version };
}

export function typeToken(apiVersion: string, kind: string): string {
    const slash = apiVersion.indexOf("/");
    const module = slash < 0 ? `core/${apiVersion}` : apiVersion;
    return `kubernetes:${module}:${kind}`;
}

export function splitApiVersion(apiVersion: string): { group: string; version: string } {
    const slash = apiVersion.indexOf("/");
    return slash < 0 ? { group: "", version: apiVersion } : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

/**
 * The Kubernetes object behind a Pulumi resource, with `apiVersion`/`kind` filled in from the type
 * token when the inputs omit them (the Pulumi SDK adds them, mocks and raw inputs may not).
 */
export function asK8sObject(type: string, props: Record<string, any> | undefined): K8sObject | undefined {
    const gvk = parseTypeToken(type);
    if (!gvk || !props || typeof props !== "object") {
        return undefined;
    }
    // Each field is read only when a rule reads it: during a preview the pack's proxy throws for an
    // unknown value (a generated Secret's data), and copying every field here would turn every policy
    // of that object into a "cannot run during preview" advisory.
    const obj: Record<string, any> = {};
    for (const key of Object.keys(props)) {
        Object.defineProperty(obj, key, { get: () => props[key], enumerable: true, configurable: true });
    }
    for (const [key, value] of [
        ["apiVersion", props.apiVersion ?? gvk.apiVersion],
        ["kind", props.kind ?? gvk.kind],
    ] as const) {
        Object.defineProperty(obj, key, { value, enumerable: true, configurable: true, writable: true });
    }
    return obj as K8sObject;
}

/**
 * Whether the program sets the field at `path` (e.g. spec.replicas), not only whether it has a value.
 * A stack policy of a preview sees the live object of every resource the preview leaves alone: the
 * API server's defaults and other controllers' writes (an HPA's scale) included. There the field
 * managers say who set a field: a server-side applier (the Kubernetes provider) owns what it
 * declared. An object without appliers is a planned one (or applied client-side): its values are
 * what was declared.
 */
export function declaresField(obj: K8sObject, path: readonly string[]): boolean {
    let value: any = obj;
    for (const key of path) value = value?.[key];
    if (value === undefined) return false;
    const managers: unknown = obj.metadata?.managedFields;
    const appliers = Array.isArray(managers) ? managers.filter((m) => m?.operation === "Apply") : [];
    if (appliers.length === 0) return true;
    return appliers.some((m) => {
        let owned: any = m.fieldsV1;
        for (const key of path) owned = owned?.[`f:${key}`];
        return owned !== undefined;
    });
}

/** A list field as read from JSON: the list, or empty when it is unset or not a list. */
export function listOf<T>(value: readonly T[] | undefined): T[] {
    return Array.isArray(value) ? [...value] : [];
}

/** The API's types of the specs the rules read, by kind. */
export interface Specs {
    Deployment: IDeploymentSpec;
    StatefulSet: IStatefulSetSpec;
    Service: IServiceSpec;
    HorizontalPodAutoscaler: IHorizontalPodAutoscalerSpec;
    PodDisruptionBudget: IPodDisruptionBudgetSpec;
    NetworkPolicy: INetworkPolicySpec;
}

/**
 * `spec` (unset: empty) as the API's type for `kind`, so that a misspelt field does not compile.
 * Only the type is chosen: the values are still unchecked JSON, read defensively.
 */
export function specOf<K extends keyof Specs>(obj: K8sObject, _kind: K): Partial<Specs[K]> {
    return obj.spec ?? {};
}

export function kindOf(obj: K8sObject): string {
    return typeof obj.kind === "string" ? obj.kind : "";
}

export function nameOf(obj: K8sObject): string {
    const n = obj.metadata?.name;
    return typeof n === "string" && n !== "" ? n : "<unnamed>";
}

/** Unset namespace = the provider's default namespace; it equals only other unset namespaces. */
export function namespaceOf(obj: K8sObject): string {
    const ns = obj.metadata?.namespace;
    return typeof ns === "string" ? ns : "";
}

/** `Kind/name`: how findings name the object they concern. */
export function refOf(obj: K8sObject): string {
    return `${kindOf(obj)}/${nameOf(obj)}`;
}

export function labelsOf(obj: K8sObject | undefined): Record<string, string> {
    const l = obj?.metadata?.labels;
    return l && typeof l === "object" ? (l as Record<string, string>) : {};
}

export interface PodTemplate {
    /**
     * The pod spec (`spec` for a Pod, the template's spec otherwise), typed by the API's OpenAPI
     * schema so that a misspelt field does not compile; the values are still unchecked JSON.
     */
    spec: Partial<IPodSpec>;
    /** Labels the pods carry. */
    labels: Record<string, string>;
}

/** The pod template of a workload (Deployment, StatefulSet, DaemonSet, ReplicaSet, RC, Job, CronJob, Pod). */
export function podTemplateOf(obj: K8sObject): PodTemplate | undefined {
    const kind = kindOf(obj);
    if (kind === "Pod") {
        return { spec: obj.spec ?? {}, labels: labelsOf(obj) };
    }
    if (kind === "CronJob") {
        const t = obj.spec?.jobTemplate?.spec?.template;
        return t ? { spec: t.spec ?? {}, labels: labelsOf(t) } : undefined;
    }
    if (WORKLOAD_KINDS.includes(kind)) {
        const t = obj.spec?.template;
        return t ? { spec: t.spec ?? {}, labels: labelsOf(t) } : undefined;
    }
    return undefined;
}

export type Container = Partial<IContainer>;

/** How findings name a container. */
export function containerName(c: Container): string {
    return typeof c.name === "string" ? c.name : "<unnamed>";
}

/** `command` then `args`: what the container runs, word by word. */
export function commandWords(c: Container): string[] {
    return [...(Array.isArray(c.command) ? c.command : []), ...(Array.isArray(c.args) ? c.args : [])].filter(
        (word): word is string => typeof word === "string",
    );
}

export function containersOf(podSpec: Partial<IPodSpec>): Container[] {
    return Array.isArray(podSpec.containers) ? podSpec.containers : [];
}

/** Regular and init containers: both need images, resources and security settings. */
export function allContainersOf(podSpec: Partial<IPodSpec>): Container[] {
    const init = Array.isArray(podSpec.initContainers) ? podSpec.initContainers : [];
    return [...init, ...containersOf(podSpec)];
}

/** Every container (init containers too) of a workload's pod template; none for other kinds. */
export function workloadContainers(obj: K8sObject): Container[] {
    const pod = podTemplateOf(obj);
    return pod ? allContainersOf(pod.spec) : [];
}

/** Declared replicas: unset counts as 1 (the API default). */
export function declaredReplicas(obj: K8sObject): number {
    const kind = kindOf(obj);
    if (!REPLICATED_KINDS.includes(kind)) {
        return 1;
    }
    const r = obj.spec?.replicas;
    return typeof r === "number" ? r : 1;
}

export function containerPorts(c: Container): Partial<IContainerPort>[] {
    return Array.isArray(c.ports) ? c.ports : [];
}

/** Resolves an int-or-percent against a total, rounding like the named controller does. */
export function intOrPercent(value: unknown, total: number, round: "up" | "down"): number | undefined {
    if (typeof value === "number") {
        return value;
    }
    if (typeof value === "string") {
        const m = /^(\d+)%$/.exec(value.trim());
        if (m) {
            const raw = (Number(m[1]) * total) / 100;
            return round === "up" ? Math.ceil(raw) : Math.floor(raw);
        }
        if (/^\d+$/.test(value.trim())) {
            return Number(value.trim());
        }
    }
    return undefined;
}
