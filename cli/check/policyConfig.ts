/**
 * Policy pack configuration as the engine prepares it for `Configure`: each policy's configSchema
 * defaults and default enforcement level, overlaid with a `--policy-pack-config` style file
 * (`{"all": "mandatory", "<policy>": "advisory" | {"enforcementLevel": ..., ...props}}`).
 */
import * as fs from "fs";
import * as path from "path";
import { InputError } from "../errors";
import { Level, PolicyInfo, PolicySettings } from "./packRunner";

export type PolicyConfigFile = Record<string, unknown>;

const LEVELS = new Set(["advisory", "mandatory", "disabled", "remediate"]);

export function loadPolicyConfigFile(file: string): PolicyConfigFile {
    let text: string;
    try {
        text = fs.readFileSync(file, "utf8");
    } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        throw new InputError(`cannot read policy config ${file}: ${code === "ENOENT" ? "no such file" : (code ?? String(e))}`);
    }
    let json: unknown;
    try {
        json = JSON.parse(text);
    } catch (e) {
        throw new InputError(`policy config ${file} is not valid JSON: ${(e as Error).message}`);
    }
    if (!json || typeof json !== "object" || Array.isArray(json)) {
        throw new InputError(`policy config ${file} must be a JSON object keyed by policy name`);
    }
    return json as PolicyConfigFile;
}

function typeMatches(schema: any, v: unknown): boolean {
    const t = schema?.type;
    if (t === undefined) return true;
    const types: string[] = Array.isArray(t) ? t : [t];
    return types.some((ty) => {
        switch (ty) {
            case "integer":
                return typeof v === "number" && Number.isInteger(v);
            case "number":
                return typeof v === "number";
            case "string":
                return typeof v === "string";
            case "boolean":
                return typeof v === "boolean";
            case "array":
                return Array.isArray(v) && (schema.items === undefined || v.every((x) => typeMatches(schema.items, x)));
            case "object":
                return !!v && typeof v === "object" && !Array.isArray(v);
            case "null":
                return v === null;
            default:
                return true;
        }
    });
}

function checkValue(where: string, schema: any, v: unknown): void {
    if (!typeMatches(schema, v)) {
        throw new InputError(`${where}: ${JSON.stringify(v)} is not of type ${JSON.stringify(schema.type)}`);
    }
    if (typeof v === "number" && typeof schema.minimum === "number" && v < schema.minimum) {
        throw new InputError(`${where}: ${v} is below the minimum ${schema.minimum}`);
    }
    if (Array.isArray(schema.enum) && !schema.enum.includes(v)) {
        throw new InputError(`${where}: ${JSON.stringify(v)} is not one of ${schema.enum.join(", ")}`);
    }
}

/** Settings for every policy of the pack; a config naming an unknown policy or property is bad input. */
export function resolvePolicySettings(
    policies: PolicyInfo[],
    file: PolicyConfigFile | undefined,
    source = "policy config",
): Map<string, PolicySettings> {
    const byName = new Map(policies.map((p) => [p.name, p]));
    const cfg = file ?? {};
    for (const key of Object.keys(cfg)) {
        if (key !== "all" && !byName.has(key)) {
            throw new InputError(`${source}: unknown policy "${key}"`);
        }
    }
    let all: Level | undefined;
    if (cfg.all !== undefined) {
        if (typeof cfg.all !== "string" || !LEVELS.has(cfg.all)) {
            throw new InputError(`${source}: "all" must be one of advisory, mandatory, disabled, remediate`);
        }
        all = cfg.all as Level;
    }
    const out = new Map<string, PolicySettings>();
    for (const p of policies) {
        const properties: Record<string, unknown> = {};
        for (const [k, s] of Object.entries(p.properties)) {
            if (s && typeof s === "object" && "default" in s) properties[k] = (s as any).default;
        }
        let level: Level = all ?? p.enforcementLevel;
        const entry = cfg[p.name];
        if (typeof entry === "string") {
            if (!LEVELS.has(entry)) throw new InputError(`${source}: ${p.name}: "${entry}" is not an enforcement level`);
            level = entry as Level;
        } else if (entry && typeof entry === "object" && !Array.isArray(entry)) {
            for (const [k, v] of Object.entries(entry as Record<string, unknown>)) {
                if (k === "enforcementLevel") {
                    if (typeof v !== "string" || !LEVELS.has(v))
                        throw new InputError(`${source}: ${p.name}.enforcementLevel: "${String(v)}" is not an enforcement level`);
                    level = v as Level;
                    continue;
                }
                const schema = p.properties[k];
                if (!schema) {
                    throw new InputError(
                        `${source}: ${p.name} has no setting "${k}" (settings: ${Object.keys(p.properties).join(", ") || "none"})`,
                    );
                }
                checkValue(`${source}: ${p.name}.${k}`, schema, v);
                properties[k] = v;
            }
        } else if (entry !== undefined) {
            throw new InputError(`${source}: ${p.name} must be an enforcement level or an object`);
        }
        for (const r of p.required) {
            if (properties[r] === undefined) throw new InputError(`${source}: ${p.name} needs "${r}"`);
        }
        out.set(p.name, { enforcementLevel: level, properties });
    }
    return out;
}

/**
 * The policy config of a stack is `policy/config/<stack>.json`. A stack without its own (and plain
 * manifests) is judged by the strictest, so a new stack is never judged more leniently than prod.
 */
export const STRICTEST_POLICY_CONFIG = "prod.json";

export interface PolicyConfigChoice {
    readonly file: string;
    /** Set when a stack has no config of its own: the file it could create to relax the rules. */
    readonly missingOwn?: string;
}

export function choosePolicyConfig(configDir: string, source: { stack?: string; policyConfig?: string }): PolicyConfigChoice {
    if (source.policyConfig !== undefined) return { file: source.policyConfig };
    const strictest = path.join(configDir, STRICTEST_POLICY_CONFIG);
    if (source.stack === undefined) return { file: strictest };
    const own = path.join(configDir, `${source.stack}.json`);
    return fs.existsSync(own) ? { file: own } : { file: strictest, missingOwn: own };
}

/**
 * For a stack judged by the strictest config: which policies it breaks, and how to relax them for
 * that stack alone. Undefined when it breaks none.
 */
export function relaxAdvice(
    stack: string,
    choice: PolicyConfigChoice,
    brokenPolicies: readonly string[],
    show: (p: string) => string = (p) => p,
): string | undefined {
    if (!choice.missingOwn || brokenPolicies.length === 0) return undefined;
    const policies = [...new Set(brokenPolicies)].sort();
    const example = JSON.stringify(Object.fromEntries(policies.map((p) => [p, "advisory"])));
    return [
        `stack ${stack} has no ${show(choice.missingOwn)}, so it was judged by ${show(choice.file)} (the strictest).`,
        `It breaks: ${policies.join(", ")}.`,
        `If that is deliberate (a small set-up), create ${show(choice.missingOwn)} to relax them for ${stack} only, e.g. ${example},`,
        `and deploy with --policy-pack-config ${show(choice.missingOwn)}. See policy/config/dev.json for a laptop cluster's levels.`,
    ].join("\n");
}
