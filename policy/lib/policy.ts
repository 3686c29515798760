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
import { createHash } from "crypto";
import { GroupVersionKind, K8sObject, asK8sObject, kindOf, nameOf, namespaceOf, parseTypeToken } from "./k8s";
import { SPEED_PATCHES, isSharedResult } from "./deserializeOnce";
import { Entry, ResourceLike, StackModel } from "./model";

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

/** What the catalogue (docs/policies.md) says about a rule beyond its description. */
export interface RuleAbout {
    /** The failure or attack the rule prevents. */
    protectsAgainst: string;
    /** What to change when it fires. */
    fix: string;
    /** True when the rule knows Amalgam8 itself (its env contract, images, endpoints), false for any workload. */
    amalgam8Specific: boolean;
}

interface RuleBase extends RuleAbout {
    name: string;
    description: string;
    enforcementLevel: EnforcementLevel;
    /** Threshold and option schema; `exemptions` is added to every policy. */
    properties?: Properties;
}

/** A policy together with what the catalogue says about it. */
export type Rule = (ResourceValidationPolicy | StackValidationPolicy) & { readonly about: RuleAbout };

function aboutOf(rule: RuleAbout): RuleAbout {
    return { protectsAgainst: rule.protectsAgainst, fix: rule.fix, amalgam8Specific: rule.amalgam8Specific };
}

/** Where a resource finding is: the URN lets messages name the stack key behind the object. */
export interface ResourceContext {
    urn: string;
}

export interface ResourceRule<C> extends RuleBase {
    /** Kinds the rule looks at (others are reported as not applicable); unset = every kind. */
    kinds?: string[];
    /** Reports every problem of the object, not only the first. */
    check(obj: K8sObject, config: C & CommonConfig, report: (message: string) => void, context: ResourceContext): void;
}

export interface StackRule<C> extends RuleBase {
    /** `report(message, entry)` attaches the finding to an object; without one it is stack-wide. */
    check(model: StackModel, config: C & CommonConfig, report: (message: string, entry?: Entry) => void): void;
}

/**
 * The engine hands every stack policy its own copy of the same resources; building the model (and
 * what rules derive from it) once per AnalyzeStack instead of once per policy is most of the work
 * saved on large inputs. The copies are recognised by content: URN, type and the values under the
 * pack's unknown-checking proxy, read without unwrapping them (so a value unknown during a preview
 * is still only reported by a rule that actually reads it).
 */
let lastModel: { key: string; urns: string[]; types: string[]; raws: unknown[]; model: StackModel } | undefined;

const PROXY_TARGET = "__getSpecialProxyTarget";

function rawOf(props: unknown): unknown {
    return props && typeof props === "object" ? ((props as any)[PROXY_TARGET] ?? props) : props;
}

function contentKey(resources: readonly ResourceLike[]): string {
    const h = createHash("sha256");
    for (const r of resources) {
        h.update(r.urn)
            .update("\0")
            .update(r.type)
            .update("\0")
            .update(JSON.stringify(rawOf(r.props)) ?? "")
            .update("\0");
    }
    return h.digest("hex");
}

/**
 * With the deserialized inputs shared (lib/deserializeOnce.ts), the policies of one AnalyzeStack
 * receive the very same objects: recognised by identity, without hashing every resource again.
 * Objects built elsewhere (tests) may change between calls, so only shared results count.
 */
function sameObjects(resources: readonly ResourceLike[], last: NonNullable<typeof lastModel>): boolean {
    if (resources.length !== last.raws.length) return false;
    return resources.every((r, i) => {
        const raw = rawOf(r.props);
        return r.urn === last.urns[i] && r.type === last.types[i] && raw === last.raws[i] && isSharedResult(raw);
    });
}

function stackModelOf(resources: ResourceLike[]): StackModel {
    // Unpatched, each stack policy builds its own model, as the SDK's design has it.
    if (!SPEED_PATCHES) return new StackModel(resources);
    if (lastModel && sameObjects(resources, lastModel)) {
        return lastModel.model;
    }
    const key = contentKey(resources);
    if (lastModel?.key !== key) {
        lastModel = undefined; // a model that fails to build (an unknown value) is not kept
        lastModel = { key, urns: [], types: [], raws: [], model: new StackModel(resources) };
    }
    lastModel.urns = resources.map((r) => r.urn);
    lastModel.types = resources.map((r) => r.type);
    lastModel.raws = resources.map((r) => rawOf(r.props));
    return lastModel.model;
}

const gvks = new Map<string, GroupVersionKind | undefined>();

function gvkOf(type: string): GroupVersionKind | undefined {
    if (!gvks.has(type)) gvks.set(type, parseTypeToken(type));
    return gvks.get(type);
}

function schemaOf(properties: Properties | undefined): { properties: Properties } {
    return { properties: { ...(properties ?? {}), exemptions: EXEMPTIONS } };
}

/**
 * `args.notApplicable` throws an Error the server catches only to read its reason; capturing its
 * stack trace, for every policy that skips every resource, was the largest cost of skipping.
 */
function notApplicable(args: ResourceValidationArgs, reason: string): never {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
        return args.notApplicable(reason);
    } finally {
        Error.stackTraceLimit = limit;
    }
}

export function resourceRule<C = object>(rule: ResourceRule<C>): ResourceValidationPolicy & Rule {
    const schema = schemaOf(rule.properties);
    const kinds = rule.kinds ? new Set(rule.kinds) : undefined;
    return {
        about: aboutOf(rule),
        name: rule.name,
        description: rule.description,
        enforcementLevel: rule.enforcementLevel,
        configSchema: schema,
        validateResource: (args: ResourceValidationArgs, reportViolation: ReportViolation) => {
            // Decided from the type token first: most rules skip most kinds without reading the object.
            const gvk = gvkOf(args.type);
            if (!gvk) {
                notApplicable(args, "not a Kubernetes object");
            }
            if (kinds && !kinds.has(args.props?.kind ?? gvk.kind)) {
                notApplicable(args, `applies to ${rule.kinds!.join(", ")}`);
            }
            const obj = asK8sObject(args.type, args.props);
            if (!obj) {
                notApplicable(args, "not a Kubernetes object");
            }
            const config = effectiveConfig<C>(schema.properties, args.getConfig<object>());
            if (isExempt(config.exemptions, obj)) {
                return;
            }
            rule.check(obj, config, (m) => reportViolation(m), { urn: args.urn });
        },
    };
}

export function stackRule<C = object>(rule: StackRule<C>): StackValidationPolicy & Rule {
    const schema = schemaOf(rule.properties);
    return {
        about: aboutOf(rule),
        name: rule.name,
        description: rule.description,
        enforcementLevel: rule.enforcementLevel,
        configSchema: schema,
        validateStack: (args: StackValidationArgs, reportViolation: ReportViolation) => {
            const config = effectiveConfig<C>(schema.properties, args.getConfig<object>());
            const model = stackModelOf(args.resources);
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
