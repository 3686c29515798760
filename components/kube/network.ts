/** NetworkPolicy building blocks: every pod of the control plane is isolated both ways. Pure. */
import * as k8s from "@pulumi/kubernetes";

type NetworkPolicySpec = k8s.types.input.networking.v1.NetworkPolicySpec;
type IngressRule = k8s.types.input.networking.v1.NetworkPolicyIngressRule;
type EgressRule = k8s.types.input.networking.v1.NetworkPolicyEgressRule;

/** Name resolution, which every pod needs. */
export const DNS_EGRESS: EgressRule = {
    ports: [
        { port: 53, protocol: "UDP" },
        { port: 53, protocol: "TCP" },
    ],
};

/** Selected pods accept only `ingress` and reach only DNS plus `egress`. */
export function isolatedPolicySpec(selector: Record<string, string>, ingress: IngressRule[], egress: EgressRule[] = []): NetworkPolicySpec {
    return {
        podSelector: { matchLabels: selector },
        policyTypes: ["Ingress", "Egress"],
        ingress,
        egress: [DNS_EGRESS, ...egress],
    };
}
