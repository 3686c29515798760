/**
 * Spreading a workload's pods over nodes: podAntiAffinity terms and topologySpreadConstraints that
 * select the pods themselves, soft (preferred, ScheduleAnyway) or hard (required, DoNotSchedule).
 */
import type { Workload } from "./model";
import { LabelSelector, matchesLabelSelector } from "./selector";
import { showLabels } from "./text";

/** Does an affinity term / TSC select the pod's own labels in the pod's namespace? */
function selectsOwnPods(term: any, w: Workload): boolean {
    const namespaces: unknown = term?.namespaces;
    if (Array.isArray(namespaces) && namespaces.length > 0 && !namespaces.includes(w.namespace) && w.namespace !== "") {
        return false;
    }
    return matchesLabelSelector(term?.labelSelector as LabelSelector, w.pod.labels);
}

/** How a workload spreads its pods over the given topology keys. */
export interface SpreadFinding {
    /** Some term on one of the keys selects the pods themselves (preferred or required). */
    soft: boolean;
    /** Some such term is required anti-affinity or a DoNotSchedule constraint. */
    hard: boolean;
    /** Terms on the keys that cannot spread the pods, each said as a message fragment. */
    problems: string[];
}

/** How the pods spread over `keys`, from podAntiAffinity terms and topologySpreadConstraints. */
export function spreadOf(w: Workload, keys: string[]): SpreadFinding {
    const out: SpreadFinding = { soft: false, hard: false, problems: [] };
    const anti = w.pod.spec.affinity?.podAntiAffinity ?? {};
    const check = (term: any, hard: boolean, where: string) => {
        if (!keys.includes(term?.topologyKey)) {
            return;
        }
        if (!selectsOwnPods(term, w)) {
            out.problems.push(
                `${where} on ${term.topologyKey} has a labelSelector that does not match the pod's own labels ${showLabels(w.pod.labels)}`,
            );
            return;
        }
        out.soft = true;
        out.hard = out.hard || hard;
    };
    for (const t of Array.isArray(anti.requiredDuringSchedulingIgnoredDuringExecution)
        ? anti.requiredDuringSchedulingIgnoredDuringExecution
        : []) {
        check(t, true, "required podAntiAffinity");
    }
    for (const t of Array.isArray(anti.preferredDuringSchedulingIgnoredDuringExecution)
        ? anti.preferredDuringSchedulingIgnoredDuringExecution
        : []) {
        check(t?.podAffinityTerm, false, "preferred podAntiAffinity");
    }
    for (const t of Array.isArray(w.pod.spec.topologySpreadConstraints) ? w.pod.spec.topologySpreadConstraints : []) {
        const when = t?.whenUnsatisfiable;
        if (typeof t?.maxSkew !== "number" || t.maxSkew < 1) {
            out.problems.push(`topologySpreadConstraint on ${t?.topologyKey} needs maxSkew >= 1`);
            continue;
        }
        if (when !== "DoNotSchedule" && when !== "ScheduleAnyway") {
            out.problems.push(`topologySpreadConstraint on ${t?.topologyKey} needs whenUnsatisfiable DoNotSchedule or ScheduleAnyway`);
            continue;
        }
        if (t.minDomains !== undefined && when !== "DoNotSchedule") {
            out.problems.push(
                `topologySpreadConstraint on ${t?.topologyKey} sets minDomains, which only works with whenUnsatisfiable: DoNotSchedule`,
            );
            continue;
        }
        check(t, when === "DoNotSchedule", "topologySpreadConstraint");
    }
    return out;
}
