/**
 * The catalogue: every rule of the pack, once, with what the documentation says about it. The
 * pack (index.ts), its config schema (each policy's configSchema) and the rules table in
 * docs/policies.md are all derived from this list.
 */
import { EnforcementLevel, PolicyConfigSchema } from "@pulumi/policy";
import { haPolicies } from "./policies/ha";
import { hygienePolicies } from "./policies/hygiene";
import { redisPolicies } from "./policies/redis";
import { reliabilityPolicies } from "./policies/reliability";
import { securityPolicies } from "./policies/security";
import { Rule } from "./lib/policy";

export type Category = "ha" | "redis" | "reliability" | "security" | "hygiene";

export const CATEGORY_TITLES: Record<Category, string> = {
    ha: "High availability",
    redis: "Redis",
    reliability: "Reliability",
    security: "Security",
    hygiene: "Hygiene",
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
        policy,
    }));
}

export const CATALOGUE: readonly CatalogueEntry[] = [
    ...entries("ha", haPolicies),
    ...entries("redis", redisPolicies),
    ...entries("reliability", reliabilityPolicies),
    ...entries("security", securityPolicies),
    ...entries("hygiene", hygienePolicies),
];

/** Settings a policy takes in policy/config/<stack>.json besides its level (`exemptions` for all). */
function settingsText(e: CatalogueEntry): string {
    const props = Object.entries(e.configSchema?.properties ?? {});
    return props.filter(([k]) => k !== "exemptions").map(([k, s]) => `\`${k}\` (${JSON.stringify(s.default)})`).join(", ");
}

function cell(text: string): string {
    return text.replace(/\|/g, "\\|").replace(/\n/g, " ");
}

/** The rules table of docs/policies.md, one section per category. */
export function rulesMarkdown(): string {
    const out: string[] = [];
    for (const category of Object.keys(CATEGORY_TITLES) as Category[]) {
        const rows = CATALOGUE.filter((e) => e.category === category);
        out.push(`### ${CATEGORY_TITLES[category]}`, "");
        out.push("| Policy | Default level | What it checks | Protects against | How to fix | Amalgam8-specific | Settings |");
        out.push("|---|---|---|---|---|---|---|");
        for (const e of rows) {
            out.push(
                `| \`${e.id}\` | ${e.enforcementLevel} | ${cell(e.checks)} | ${cell(e.protectsAgainst)} | ${cell(e.fix)} | ${e.amalgam8Specific ? "yes" : "no"} | ${cell(settingsText(e))} |`,
            );
        }
        out.push("");
    }
    return out.join("\n");
}
