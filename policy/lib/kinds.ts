/**
 * Kind lists: which objects run pods, keep replicas, serve traffic, carry labels or live outside
 * any namespace. Rules name the list they apply to instead of spelling kinds out.
 */

/** Kinds whose `spec.selector` picks the pods of their template. */
export const SELECTOR_KINDS = ["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController"];

/** Kinds that keep a number of long-running replicas (what the HA rules count); a DaemonSet runs one per node. */
export const REPLICATED_KINDS = SELECTOR_KINDS.filter((k) => k !== "DaemonSet");

/** Long-running pods: a container that declares a port there serves traffic. */
export const SERVING_KINDS = [...SELECTOR_KINDS, "Pod"];

/** Every kind that runs pods: a Pod, or an owner with a pod template. */
export const WORKLOAD_KINDS = [...SERVING_KINDS, "Job", "CronJob"];

/** Kinds that should carry the recommended `app.kubernetes.io/*` labels. */
export const LABELLED_KINDS = [
    ...WORKLOAD_KINDS,
    "Service",
    "ConfigMap",
    "Secret",
    "PodDisruptionBudget",
    "NetworkPolicy",
    "HorizontalPodAutoscaler",
    "ServiceAccount",
    "PersistentVolumeClaim",
];

/** Kinds the API server stores without a namespace. */
export const CLUSTER_SCOPED_KINDS = new Set([
    "Namespace",
    "Node",
    "PersistentVolume",
    "StorageClass",
    "ClusterRole",
    "ClusterRoleBinding",
    "CustomResourceDefinition",
    "PriorityClass",
    "ValidatingWebhookConfiguration",
    "MutatingWebhookConfiguration",
    "APIService",
    "IngressClass",
    "RuntimeClass",
    "CSIDriver",
    "VolumeSnapshotClass",
]);
