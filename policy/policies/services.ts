/**
 * Services: internal only unless allow-listed, and each one routed to the declared ports of exactly
 * one workload.
 */
import { containerPorts, containersOf, listOf, refOf, specOf } from "../lib/k8s";
import { Rule, resourceRule, stackRule } from "../lib/policy";
import { containerServesTargetPort } from "../lib/services";
import { stackKeyHint } from "../lib/stackKeys";
import { showLabels } from "../lib/text";

export const servicesInternal = resourceRule<{ allowLoadBalancerFor: string[]; allowNodePortFor: string[] }>({
    name: "svc-internal-only",
    description: "Services are ClusterIP (or headless): no NodePort, no externalIPs, LoadBalancer only for allow-listed edge Services.",
    enforcementLevel: "mandatory",
    protectsAgainst: "The control plane speaks plain HTTP; exposure should be a deliberate, reviewed choice.",
    fix:
        "Use `type: ClusterIP` behind an Ingress or Gateway, or allow-list the Service in `allowLoadBalancerFor`/`allowNodePortFor` " +
        "(stack key `serviceType`).",
    amalgam8Specific: false,
    kinds: ["Service"],
    properties: {
        allowLoadBalancerFor: {
            type: "array",
            items: { type: "string" },
            default: [],
            description: "Service names allowed to be LoadBalancers.",
        },
        allowNodePortFor: { type: "array", items: { type: "string" }, default: [], description: "Service names allowed to be NodePorts." },
    },
    check(obj, cfg, report, { urn }) {
        const name = obj.metadata?.name;
        const key = stackKeyHint(urn, obj, "serviceType");
        const type = specOf(obj, "Service").type ?? "ClusterIP";
        if (type === "NodePort" && !cfg.allowNodePortFor.includes(name)) {
            report(
                `${refOf(obj)} is a NodePort: it opens a port on every node. Use type ClusterIP and expose it through an Ingress or ` +
                    `Gateway (or allow-list it in allowNodePortFor for a laptop cluster)${key}.`,
            );
        }
        if (type === "LoadBalancer" && !cfg.allowLoadBalancerFor.includes(name)) {
            report(
                `${refOf(obj)} is a LoadBalancer: it gets a public address. Use type ClusterIP behind an Ingress/Gateway, or allow-list ` +
                    `it in allowLoadBalancerFor${key}.`,
            );
        }
        const externalIPs = listOf(specOf(obj, "Service").externalIPs);
        if (externalIPs.length > 0) {
            report(
                `${refOf(obj)} sets externalIPs ${externalIPs.join(", ")}: remove them (they let traffic for any address be ` +
                    `captured).`,
            );
        }
    },
});

export const serviceSelectsOneWorkload = stackRule({
    name: "svc-selects-one-workload",
    description: "Every Service (except ExternalName) has a selector that matches the pods of exactly one workload in its namespace.",
    enforcementLevel: "mandatory",
    protectsAgainst: "A Service with no endpoints, or one mixing workloads, misroutes traffic.",
    fix: "Set the Service selector to the pod labels of exactly one workload.",
    amalgam8Specific: false,
    check(model, _cfg, report) {
        for (const svc of model.ofKind("Service")) {
            if (specOf(svc.obj, "Service").type === "ExternalName") {
                continue;
            }
            const sel = specOf(svc.obj, "Service").selector;
            if (!sel || Object.keys(sel).length === 0) {
                report(
                    `${svc.ref} has no selector, so it routes to no pod unless Endpoints are managed by hand: set spec.selector to its ` +
                        `workload's pod labels.`,
                    svc,
                );
                continue;
            }
            const targets = model.serviceTargets(svc);
            if (targets.length === 0) {
                report(
                    `${svc.ref} selector ${showLabels(sel)} matches no workload${svc.namespace ? ` in namespace ${svc.namespace}` : ""}: ` +
                        `it has no endpoints. Use the pod labels of the workload it fronts.`,
                    svc,
                );
            } else if (targets.length > 1) {
                report(
                    `${svc.ref} selector ${showLabels(sel)} matches ${targets.map((t) => t.ref).join(", ")}: traffic would be spread ` +
                        `over different workloads. ` +
                        `Add a distinguishing label (e.g. app.kubernetes.io/name or app.kubernetes.io/component) to the selector.`,
                    svc,
                );
            }
        }
    },
});

export const serviceTargetPort = stackRule({
    name: "svc-target-port",
    description:
        "Every Service port's targetPort (or port, when unset) is a container port of the selected pods, by number or by name, with the " +
        "same protocol.",
    enforcementLevel: "mandatory",
    protectsAgainst: "A wrong target port is a Service that never answers.",
    fix: "Set `targetPort` to a declared container port (number or name) with the same protocol.",
    amalgam8Specific: false,
    check(model, _cfg, report) {
        for (const svc of model.ofKind("Service")) {
            if (specOf(svc.obj, "Service").type === "ExternalName") {
                continue;
            }
            const targets = model.serviceTargets(svc);
            for (const port of listOf(specOf(svc.obj, "Service").ports)) {
                let target: unknown = port?.targetPort ?? port?.port;
                if (typeof target === "string" && /^\d+$/.test(target)) target = Number(target);
                const protocol = port?.protocol ?? "TCP";
                for (const w of targets) {
                    if (!containersOf(w.pod.spec).some((c) => containerServesTargetPort(c, target, protocol))) {
                        const declared = containersOf(w.pod.spec)
                            .flatMap((c) =>
                                containerPorts(c).map((p) => (p?.name ? `${p.containerPort} (${p.name})` : `${p?.containerPort}`)),
                            )
                            .join(", ");
                        report(
                            `${svc.ref} port ${port?.port} targets ${JSON.stringify(target)}/${protocol}, which no container of ${w.ref} ` +
                                `declares (declared: ${declared || "none"}): ` +
                                `set targetPort to a declared containerPort or port name, or declare the port on the container.`,
                            svc,
                        );
                    }
                }
            }
        }
    },
});

export const servicePolicies: Rule[] = [servicesInternal, serviceSelectsOneWorkload, serviceTargetPort];
