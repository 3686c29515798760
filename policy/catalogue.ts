/**
 * The catalogue: every rule of the pack, once, with what the documentation says about it. The
 * pack (index.ts), its config schema (each policy's configSchema) and the rules table in
 * docs/policies.md are all derived from this list.
 */
import { EnforcementLevel, PolicyConfigSchema, Severity } from "@pulumi/policy";
import { amalgam8Policies } from "./policies/amalgam8";
import { haPolicies } from "./policies/ha";
import { hygienePolicies } from "./policies/hygiene";
import { redisPolicies } from "./policies/redis";
import { reliabilityPolicies } from "./policies/reliability";
import { securityPolicies } from "./policies/security";
import { servicePolicies } from "./policies/services";
import { Rule } from "./lib/policy";

/** One per module of policies/; a rule's id starts with its category's prefix. */
export type Category = "ha" | "redis" | "amalgam8" | "reliability" | "services" | "security" | "hygiene";

export const CATEGORY_TITLES: Record<Category, string> = {
    ha: "High availability",
    redis: "Redis",
    amalgam8: "Amalgam8",
    reliability: "Reliability",
    services: "Services",
    security: "Security",
    hygiene: "Hygiene",
};

/** The id prefix of each category's rules (`ha-min-replicas`, `sec-redis-auth`). */
export const CATEGORY_PREFIXES: Record<Category, string> = {
    ha: "ha",
    redis: "redis",
    amalgam8: "a8",
    reliability: "rel",
    services: "svc",
    security: "sec",
    hygiene: "hyg",
};

/**
 * How bad a finding of each category is, as the engine and Pulumi Cloud show it: an outage or a
 * breach (high), a degraded or fragile deployment (medium), untidiness (low).
 */
export const CATEGORY_SEVERITY: Record<Category, Severity> = {
    ha: "high",
    redis: "high",
    amalgam8: "high",
    reliability: "medium",
    services: "medium",
    security: "high",
    hygiene: "low",
};

export interface CatalogueEntry {
    id: string;
    category: Category;
    /** Default enforcement level (policy/config/<stack>.json may change it). */
    enforcementLevel: EnforcementLevel;
    /** What the rule checks. */
    checks: string;
    protectsAgainst: string;
    fix: string;
    amalgam8Specific: boolean;
    /** Resource rules see one object at a time, stack rules the whole input. */
    scope: "resource" | "stack";
    configSchema?: PolicyConfigSchema;
    severity: Severity;
    /** The category, and `amalgam8` for the rules that know Amalgam8 itself. */
    tags: string[];
    policy: Rule;
}

function entries(category: Category, rules: Rule[]): CatalogueEntry[] {
    return rules.map((policy) => ({
        id: policy.name,
        category,
        enforcementLevel: policy.enforcementLevel ?? "advisory",
        checks: policy.description,
        ...policy.about,
        scope: "validateStack" in policy ? "stack" : "resource",
        configSchema: policy.configSchema,
        severity: CATEGORY_SEVERITY[category],
        tags: [category, ...(policy.about.amalgam8Specific ? ["amalgam8"] : [])],
        policy,
    }));
}

/** The policy as the pack hands it to the engine: with the severity, tags and fix the CLI and Pulumi Cloud show. */
export function enginePolicy(e: CatalogueEntry): Rule {
    return { ...e.policy, severity: e.severity, tags: e.tags, remediationSteps: e.fix };
}

export const CATALOGUE: readonly CatalogueEntry[] = [
    ...entries("ha", haPolicies),
    ...entries("redis", redisPolicies),
    ...entries("amalgam8", amalgam8Policies),
    ...entries("reliability", reliabilityPolicies),
    ...entries("services", servicePolicies),
    ...entries("security", securityPolicies),
    ...entries("hygiene", hygienePolicies),
];

/** Settings a policy takes in policy/config/<stack>.json besides its level (`exemptions` for all). */
function settingsText(e: CatalogueEntry): string {
    const props = Object.entries(e.configSchema?.properties ?? {});
    return props
        .filter(([k]) => k !== "exemptions")
        .map(([k, s]) => `\`${k}\` (${JSON.stringify(s.default)})`)
        .join(", ");
}

function cell(text: string): string {
    return text.replace(/\|/g, "\\|").replace(/\n/g, " ");
}

/** The rules table of docs/policies.md, one section per category. */
export function rulesMarkdown(): string {
    const out: string[] = [];
    for (const category of Object.keys(CATEGORY_TITLES) as Category[]) {
        const rows = CATALOGUE.filter((e) => e.category === category);
        out.push(`### ${CATEGORY_TITLES[category]}`, "", `Severity of a finding: ${CATEGORY_SEVERITY[category]}.`, "");
        out.push("| Policy | Default level | What it checks | Protects against | How to fix | Amalgam8-specific | Settings |");
        out.push("|---|---|---|---|---|---|---|");
        for (const e of rows) {
            out.push(
                `| \`${e.id}\` | ${e.enforcementLevel} | ${cell(e.checks)} | ${cell(e.protectsAgainst)} | ${cell(e.fix)} | ` +
                    `${e.amalgam8Specific ? "yes" : "no"} | ${cell(settingsText(e))} |`,
            );
        }
        out.push("");
    }
    return out.join("\n");
}
