/**
 * What the schema says, for people: the README's configuration table, and the `config:` block
 * Pulumi.yaml must hold (Pulumi applies its defaults to every stack). Pure: tests compare the
 * files with these, and a script can write the table into the README.
 */
import { AnySetting, GroupSetting, defaultOf, fieldsOf } from "./kinds";
import { SECRETS, SETTINGS } from "./schema";

/** Lines around the table in README.md; everything between them is the rendered table. */
export const TABLE_START = "<!-- configuration table: rendered from components/settings/schema.ts, do not edit by hand -->";
export const TABLE_END = "<!-- end of configuration table -->";

/** One row of the table: several keys when the groups of a family (the two services) agree on a setting. */
export interface ConfigurationRow {
    readonly keys: readonly string[];
    readonly defaults: readonly string[];
    readonly allowed: string;
    readonly description: string;
    /** Set with `pulumi config set --secret`. */
    readonly secret: boolean;
}

interface Located extends ConfigurationRow {
    /** `apiService:resources` for `controller.resources`: rows of one family with the same tail merge. */
    readonly familyKey?: string;
}

const code = (s: string | number | boolean) => `\`${s}\``;

function rangeOf(min: number, max: number, why?: string): string {
    return `${min}–${max}${why ? ` (${why})` : ""}`;
}

/** `{requests: {cpu, memory}, limits: {cpu, memory}}` */
function shapeOf(g: GroupSetting<unknown>): string {
    return `{${fieldsOf(g)
        .map(([k, f]) => (f.kind === "group" ? `${k}: ${shapeOf(f)}` : k))
        .join(", ")}}`;
}

function leavesOf(s: AnySetting): AnySetting[] {
    return s.kind === "group" ? fieldsOf(s).flatMap(([, f]) => leavesOf(f)) : [s];
}

/** The values a setting allows, in words. */
export function allowedText(s: AnySetting): string {
    switch (s.kind) {
        case "flag":
            return "`true`, `false`";
        case "choice":
            return s.values.map(code).join(", ");
        case "integer":
            return rangeOf(s.min, s.max, s.why);
        case "text":
            return s.allowed;
        case "image":
            return "an image with a tag other than `latest`, or a digest";
        case "group": {
            const shape = code(shapeOf(s));
            const rules = new Set(leavesOf(s).map(allowedText));
            if (rules.size === 1) return `${shape}, each ${[...rules][0]}`;
            const fields = fieldsOf(s).map(([k, f]) => `${k} (${f.description}): ${allowedText(f)}, default ${defaultText(f)}`);
            return `${shape}; ${fields.join("; ")}`;
        }
    }
}

/** The default of a setting, in words. */
export function defaultText(s: AnySetting): string {
    switch (s.kind) {
        case "integer":
            return typeof s.default === "number" ? code(s.default) : s.default.text;
        case "text":
            return s.default === undefined ? (s.unsetText ?? "none") : code(s.default);
        case "group":
            if (s.optional) return s.unsetText ?? "none";
            return s.summary ? s.summary(defaultOf(s)) : "";
        default:
            return code(s.default);
    }
}

function rowsOf(path: string, s: AnySetting, family?: { name: string; path: string }): Located[] {
    if (s.kind === "group" && !s.oneRow) {
        const inner = s.family ? { name: s.family, path } : family;
        return fieldsOf(s).flatMap(([k, f]) => rowsOf(path ? `${path}.${k}` : k, f, inner));
    }
    return [
        {
            keys: [path],
            defaults: [defaultText(s)],
            allowed: allowedText(s),
            description: s.description,
            secret: false,
            ...(family ? { familyKey: `${family.name}:${path.slice(family.path.length)}` } : {}),
        },
    ];
}

/** Every row of the table, in the schema's order, secrets last. */
export function configurationRows(): ConfigurationRow[] {
    const rows: Located[] = [];
    for (const row of rowsOf("", SETTINGS)) {
        const twin = rows.find((r) => r.familyKey !== undefined && r.familyKey === row.familyKey);
        if (twin && twin.allowed === row.allowed && twin.description === row.description) {
            rows[rows.indexOf(twin)] = { ...twin, keys: [...twin.keys, ...row.keys], defaults: [...twin.defaults, ...row.defaults] };
        } else {
            rows.push(row);
        }
    }
    const secrets = Object.entries(SECRETS).map(([key, s]) => ({
        keys: [key],
        defaults: [`generated (${s.generatedLength} letters and digits)`],
        allowed: s.allowed,
        description: s.description,
        secret: true,
    }));
    return [...rows.map(({ familyKey: _, ...row }) => row), ...secrets];
}

function cell(s: string): string {
    return s.replace(/\|/g, "\\|");
}

/** The README's configuration table (Markdown), without the lines around it. */
export function configurationTable(): string {
    const lines = ["| key | default | allowed | what it does |", "|---|---|---|---|"];
    for (const r of configurationRows()) {
        const defaults = new Set(r.defaults).size === 1 ? r.defaults[0] : r.defaults.join(" / ");
        const keys = r.keys.map((k) => `\`${k}\``).join(" / ") + (r.secret ? " (secret)" : "");
        lines.push(`| ${keys} | ${cell(defaults)} | ${cell(r.allowed)} | ${cell(r.description)} |`);
    }
    return lines.join("\n");
}

/** The table of a README: the text between TABLE_START and TABLE_END; undefined without them. */
export function tableOf(readme: string): string | undefined {
    const start = readme.indexOf(`${TABLE_START}\n`);
    const end = readme.indexOf(`\n${TABLE_END}`, start);
    return start < 0 || end < 0 ? undefined : readme.slice(start + TABLE_START.length + 1, end);
}

/** The README with its table rendered anew; throws when the lines around it are missing. */
export function withConfigurationTable(readme: string): string {
    const old = tableOf(readme);
    if (old === undefined) throw new Error(`README.md: no "${TABLE_START}" ... "${TABLE_END}" lines around the configuration table`);
    const start = readme.indexOf(`${TABLE_START}\n`) + TABLE_START.length + 1;
    return readme.slice(0, start) + configurationTable() + readme.slice(start + old.length);
}

/** A key of Pulumi.yaml's `config:` block. */
export interface ProjectConfigEntry {
    readonly type: "string" | "integer" | "boolean";
    readonly default: string | number | boolean;
    readonly description: string;
}

/**
 * What Pulumi.yaml's `config:` block must hold: every top-level setting Pulumi can type (not the
 * objects, not the secrets), with the program's default.
 */
export function projectConfig(): Record<string, ProjectConfigEntry> {
    const out: Record<string, ProjectConfigEntry> = {};
    for (const [key, s] of fieldsOf(SETTINGS)) {
        if (s.kind === "group") continue;
        const value = defaultOf<unknown>(s);
        if (value === undefined) continue;
        const type = s.kind === "flag" ? "boolean" : s.kind === "integer" ? "integer" : "string";
        // Pulumi.yaml has no list of allowed values: the description names them.
        const description = s.kind === "choice" ? `${s.values.join(" | ")}: ${s.description}` : s.description;
        out[key] = { type, default: value as string | number | boolean, description };
    }
    return out;
}
