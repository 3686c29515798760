/**
 * Pod-level building blocks every workload of the control plane shares: the restricted Pod
 * Security Standard and node/zone spreading. Pure.
 */
import * as k8s from "@pulumi/kubernetes";
import { ResourceSettings } from "../config";

type PodSecurityContext = k8s.types.input.core.v1.PodSecurityContext;
type SecurityContext = k8s.types.input.core.v1.SecurityContext;
type TopologySpreadConstraint = k8s.types.input.core.v1.TopologySpreadConstraint;
type ResourceRequirements = k8s.types.input.core.v1.ResourceRequirements;

/** `nobody`: the Amalgam8 images have no USER and need no root (they bind :8080). */
export const NONROOT_UID = 65534;

export function restrictedPodSecurity(uid: number = NONROOT_UID): PodSecurityContext {
    return {
        runAsNonRoot: true,
        runAsUser: uid,
        runAsGroup: uid,
        fsGroup: uid,
        seccompProfile: { type: "RuntimeDefault" },
    };
}

export function restrictedContainerSecurity(): SecurityContext {
    return {
        allowPrivilegeEscalation: false,
        privileged: false,
        readOnlyRootFilesystem: true,
        runAsNonRoot: true,
        capabilities: { drop: ["ALL"] },
    };
}

export const HOSTNAME_TOPOLOGY = "kubernetes.io/hostname";
export const ZONE_TOPOLOGY = "topology.kubernetes.io/zone";

/**
 * Replicas of one workload on different nodes (and zones when asked), so that losing a node or a
 * zone never takes every replica.
 */
export function spreadConstraints(selector: Record<string, string>, acrossZones: boolean): TopologySpreadConstraint[] {
    const keys = acrossZones ? [HOSTNAME_TOPOLOGY, ZONE_TOPOLOGY] : [HOSTNAME_TOPOLOGY];
    return keys.map((topologyKey) => ({
        maxSkew: 1,
        topologyKey,
        whenUnsatisfiable: "DoNotSchedule",
        labelSelector: { matchLabels: selector },
    }));
}

/** Required anti-affinity: at most one pod of this selector per node (used for quorum members). */
export function requiredNodeAntiAffinity(selector: Record<string, string>): k8s.types.input.core.v1.Affinity {
    return {
        podAntiAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: HOSTNAME_TOPOLOGY, labelSelector: { matchLabels: selector } }],
        },
    };
}

export function resourceRequirements(r: ResourceSettings): ResourceRequirements {
    return {
        requests: { cpu: r.requests.cpu, memory: r.requests.memory },
        limits: { ...(r.limits.cpu ? { cpu: r.limits.cpu } : {}), memory: r.limits.memory },
    };
}
