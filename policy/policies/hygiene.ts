/**
 * Hygiene (advisory): labels tools and people can select on, stable APIs, a dedicated namespace.
 */
import { labelsOf, podTemplateOf, refOf } from "../lib/k8s";
import { CLUSTER_SCOPED_KINDS, LABELLED_KINDS } from "../lib/kinds";
import { Rule, resourceRule } from "../lib/policy";

export const recommendedLabels = resourceRule<{ required: string[] }>({
    name: "hyg-recommended-labels",
    description:
        "Objects and pod templates carry the recommended app.kubernetes.io labels (name, instance, component, part-of, managed-by).",
    enforcementLevel: "advisory",
    protectsAgainst: "Selection, dashboards and the policies' own messages rely on the labels.",
    fix: "Add the `app.kubernetes.io/*` labels to the object and its pod template.",
    amalgam8Specific: false,
    kinds: LABELLED_KINDS,
    properties: {
        required: {
            type: "array",
            items: { type: "string" },
            default: [
                "app.kubernetes.io/name",
                "app.kubernetes.io/instance",
                "app.kubernetes.io/component",
                "app.kubernetes.io/part-of",
                "app.kubernetes.io/managed-by",
            ],
            description: "Labels every object must carry.",
        },
    },
    check(obj, cfg, report) {
        const missing = cfg.required.filter((l) => !(l in labelsOf(obj)));
        if (missing.length > 0) {
            report(`${refOf(obj)} lacks the labels ${missing.join(", ")}: add them to metadata.labels.`);
        }
        const pod = podTemplateOf(obj);
        if (pod) {
            const podMissing = cfg.required.filter((l) => l !== "app.kubernetes.io/managed-by" && !(l in pod.labels));
            if (podMissing.length > 0) {
                report(`${refOf(obj)} pod template lacks the labels ${podMissing.join(", ")}: add them to spec.template.metadata.labels.`);
            }
        }
    },
});

export const stableApi = resourceRule({
    name: "hyg-stable-api",
    description: "No alpha or beta API versions (they change or disappear between Kubernetes releases).",
    enforcementLevel: "advisory",
    protectsAgainst: "Alpha and beta APIs change or disappear between Kubernetes releases.",
    fix: "Move to the stable apiVersion (apps/v1, policy/v1, autoscaling/v2, networking.k8s.io/v1).",
    amalgam8Specific: false,
    check(obj, _cfg, report) {
        const v = String(obj.apiVersion ?? "");
        if (/\/v\d+(alpha|beta)\d*$|^v\d+(alpha|beta)\d*$/.test(v)) {
            report(
                `${refOf(obj)} uses ${v}: move to the stable API version (e.g. apps/v1, policy/v1, autoscaling/v2, networking.k8s.io/v1).`,
            );
        }
    },
});

export const namespaced = resourceRule({
    name: "hyg-namespace",
    description: "Namespaced objects set metadata.namespace explicitly and not to `default`.",
    enforcementLevel: "advisory",
    protectsAgainst: "Objects in the default (or an implicit) namespace escape the control plane's isolation and NetworkPolicies.",
    fix: "Set `metadata.namespace` to the control plane's namespace.",
    amalgam8Specific: false,
    check(obj, _cfg, report) {
        if (CLUSTER_SCOPED_KINDS.has(String(obj.kind))) {
            return;
        }
        const ns = obj.metadata?.namespace;
        if (ns === undefined || ns === "") {
            report(
                `${refOf(obj)} sets no namespace, so it lands in whatever the provider or kubeconfig defaults to: set metadata.namespace ` +
                    `(e.g. amalgam8).`,
            );
        } else if (ns === "default") {
            report(`${refOf(obj)} is in the default namespace: give the control plane its own namespace (e.g. amalgam8).`);
        }
    },
});

export const hygienePolicies: Rule[] = [recommendedLabels, stableApi, namespaced];
