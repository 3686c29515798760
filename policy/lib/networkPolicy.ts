/**
 * NetworkPolicy ingress as the API server reads it: which policies isolate a workload's pods, which
 * ports a rule covers, and whether a client's pods are admitted.
 */
import type { Entry, StackModel, Workload } from "./model";
import { listOf, specOf } from "./k8s";
import { matchesLabelSelector } from "./selector";

/** NetworkPolicies that select the workload's pods and restrict ingress (unset policyTypes include Ingress). */
export function ingressPoliciesFor(model: StackModel, w: Workload): Entry[] {
    return model.networkPoliciesFor(w).filter((n) => {
        const types: unknown = specOf(n.obj, "NetworkPolicy").policyTypes;
        return !Array.isArray(types) || types.includes("Ingress");
    });
}

/** The ingress rules of a NetworkPolicy. */
export function ingressRules(policy: Entry): any[] {
    return listOf(specOf(policy.obj, "NetworkPolicy").ingress);
}

/** Whether an ingress rule's `ports` (unset = all) include one of `ports` (numbers, or names matched by name). */
export function ingressRuleCovers(rule: any, ports: Set<number | string>): boolean {
    const list = Array.isArray(rule?.ports) ? rule.ports : [];
    if (list.length === 0) {
        return true;
    }
    return list.some((p: any) => {
        if (p?.port === undefined) return true;
        if (typeof p.port === "string") return ports.has(p.port);
        const end = typeof p.endPort === "number" ? p.endPort : p.port;
        return [...ports].some((x) => typeof x === "number" && x >= p.port && x <= end);
    });
}

/** Whether some NetworkPolicy selecting `target` admits pods of `client` (or none isolates ingress). */
export function ingressAdmits(model: StackModel, target: Workload, client: Workload): boolean {
    const isolating = ingressPoliciesFor(model, target);
    if (isolating.length === 0) {
        return true;
    }
    return isolating.some((n) =>
        ingressRules(n).some((rule: any) => {
            const from = Array.isArray(rule?.from) ? rule.from : [];
            if (from.length === 0) return true;
            return from.some((peer: any) => {
                if (peer?.ipBlock) return false;
                const podOk = peer?.podSelector === undefined || matchesLabelSelector(peer.podSelector, client.pod.labels);
                const nsOk = peer?.namespaceSelector !== undefined || client.namespace === target.namespace;
                return podOk && nsOk;
            });
        }),
    );
}
