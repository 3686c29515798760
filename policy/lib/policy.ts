/**
 * Thin wrappers that turn rule definitions into CrossGuard policies: Kubernetes-object filtering,
 * `notApplicable`, schema defaults, and a per-policy `exemptions` list keyed on `Kind/name`.
 */
import {
    EnforcementLevel,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
} from "@pulumi/policy";
import { PolicyConfigJSONSchema } from "@pulumi/policy/schema";
import { K8sObject, asK8sObject, kindOf, nameOf, namespaceOf } from "./k8s";
import { Entry, StackModel } from "./model";

export interface CommonConfig {
    /** Objects the policy skips: `Kind/name`, `name` or `namespace/Kind/name`. */
    exemptions: string[];
}

type Properties = Record<string, PolicyConfigJSONSchema>;

const EXEMPTIONS: PolicyConfigJSONSchema = {
    type: "array",
    items: { type: "string" },
    default: [],
    description: "Objects this policy skips, as `Kind/name`, `name` or `namespace/Kind/name`.",
};

export function isExempt(exemptions: readonly string[] | undefined, obj: K8sObject): boolean {
    if (!exemptions || exemptions.length === 0) {
        return false;
    }
    const kind = kindOf(obj);
    const name = nameOf(obj);
    const ns = namespaceOf(obj);
    const keys = new Set([name, `${kind}/${name}`, `${ns}/${kind}/${name}`]);
    return exemptions.some((x) => keys.has(x));
}

/** Schema defaults, overlaid with whatever the engine sent (it normally sends the defaults too). */
function effectiveConfig<C>(properties: Properties, sent: object | undefined): C & CommonConfig {
    const out: Record<string, unknown> = {};
    for (const [k, s] of Object.entries(properties)) {
        if (s.default !== undefined) {
            out[k] = s.default;
        }
    }
    for (const [k, v] of Object.entries(sent ?? {})) {
        if (v !== undefined && k !== "enforcementLevel") {
            out[k] = v;
        }
    }
    return out as C & CommonConfig;
}

interface RuleBase {
    name: string;
    description: string;
    enforcementLevel: EnforcementLevel;
    /** Threshold and option schema; `exemptions` is added to every policy. */
    properties?: Properties;
}

export interface ResourceRule<C> extends RuleBase {
    /** Kinds the rule looks at (others are reported as not applicable); unset = every kind. */
    kinds?: string[];
    check(obj: K8sObject, config: C & CommonConfig, report: (message: string) => void): void;
}

export interface StackRule<C> extends RuleBase {
    /** `report(message, entry)` attaches the finding to an object; without one it is stack-wide. */
    check(model: StackModel, config: C & CommonConfig, report: (message: string, entry?: Entry) => void): void;
}

function schemaOf(properties: Properties | undefined): { properties: Properties } {
    return { properties: { ...(properties ?? {}), exemptions: EXEMPTIONS } };
}

export function resourceRule<C = {}>(rule: ResourceRule<C>): ResourceValidationPolicy {
    const schema = schemaOf(rule.properties);
    return {
        name: rule.name,
        description: rule.description,
        enforcementLevel: rule.enforcementLevel,
        configSchema: schema,
        validateResource: (args: ResourceValidationArgs, reportViolation: ReportViolation) => {
            const obj = asK8sObject(args.type, args.props);
            if (!obj) {
                args.notApplicable("not a Kubernetes object");
            }
            if (rule.kinds && !rule.kinds.includes(kindOf(obj))) {
                args.notApplicable(`applies to ${rule.kinds.join(", ")}`);
            }
            const config = effectiveConfig<C>(schema.properties, args.getConfig<object>());
            if (isExempt(config.exemptions, obj)) {
                return;
            }
            rule.check(obj, config, (m) => reportViolation(m));
        },
    };
}

export function stackRule<C = {}>(rule: StackRule<C>): StackValidationPolicy {
    const schema = schemaOf(rule.properties);
    return {
        name: rule.name,
        description: rule.description,
        enforcementLevel: rule.enforcementLevel,
        configSchema: schema,
        validateStack: (args: StackValidationArgs, reportViolation: ReportViolation) => {
            const config = effectiveConfig<C>(schema.properties, args.getConfig<object>());
            const model = new StackModel(args.resources);
            rule.check(model, config, (message, entry) => {
                if (entry && isExempt(config.exemptions, entry.obj)) {
                    return;
                }
                if (entry) {
                    reportViolation(message, entry.urn);
                } else {
                    reportViolation(message);
                }
            });
        },
    };
}
