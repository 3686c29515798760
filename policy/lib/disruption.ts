/**
 * How many pods may be down at once: evictions a PodDisruptionBudget allows, and pods a rollout
 * takes away. Percentages round like the controllers do (PDBs up, Deployment rollouts down).
 */
import { intOrPercent, specOf } from "./k8s";
import type { Entry, Workload } from "./model";

/** Pods a PDB lets go at once for a workload of `replicas` pods (the disruption controller rounds up). */
export function allowedDisruptions(pdb: Entry, replicas: number): number | undefined {
    const spec = specOf(pdb.obj, "PodDisruptionBudget");
    if (spec.maxUnavailable !== undefined && spec.maxUnavailable !== null) {
        return intOrPercent(spec.maxUnavailable, replicas, "up");
    }
    if (spec.minAvailable !== undefined && spec.minAvailable !== null) {
        const min = intOrPercent(spec.minAvailable, replicas, "up");
        return min === undefined ? undefined : replicas - min;
    }
    return undefined;
}

/** Pods a Deployment's rolling update may take down at once (unset maxUnavailable is 25%). */
export function deploymentMaxUnavailable(w: Workload): number {
    const ru = specOf(w.obj, "Deployment").strategy?.rollingUpdate ?? {};
    return intOrPercent(ru.maxUnavailable ?? "25%", w.replicas, "down") ?? 0;
}

/** Pods a StatefulSet's rolling update may take down at once (unset maxUnavailable is 1). */
export function statefulSetMaxUnavailable(w: Workload): number {
    return intOrPercent(specOf(w.obj, "StatefulSet").updateStrategy?.rollingUpdate?.maxUnavailable ?? 1, w.replicas, "down") ?? 1;
}
