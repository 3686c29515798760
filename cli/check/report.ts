/** The outcome of a check and its two renderings: a preview-like text report and one JSON document. */
import { plural } from "../../policy/lib/text";

export interface ResourceRow {
    urn: string;
    type: string;
    name: string;
    /** `Kind/metadata.name` for Kubernetes objects. */
    object?: string;
    namespace?: string;
    /** OpenAPI schema verdict for Kubernetes objects. */
    schema?: "valid" | "invalid" | "unknown";
}

export interface Violation {
    policy: string;
    enforcementLevel: "advisory" | "mandatory";
    /** `Kind/metadata.name`; absent for stack-wide findings. */
    resource?: string;
    /** The resource's URN as the Pulumi CLI shows it; absent for stack-wide findings. */
    urn?: string;
    message: string;
}

export interface SchemaError {
    resource: string;
    message: string;
}

export interface CheckReport {
    title: string;
    pack: string;
    policyConfig?: string;
    resources: ResourceRow[];
    violations: Violation[];
    errors: SchemaError[];
    notes: string[];
}

function mandatoryCount(r: CheckReport): number {
    return r.violations.filter((v) => v.enforcementLevel === "mandatory").length;
}

export function exitCode(r: CheckReport): number {
    return mandatoryCount(r) > 0 || r.errors.length > 0 ? 1 : 0;
}

export function renderJson(r: CheckReport): string {
    const violations = r.violations.map((v) => ({
        policy: v.policy,
        enforcementLevel: v.enforcementLevel,
        ...(v.resource ? { resource: v.resource } : {}),
        ...(v.urn ? { urn: v.urn } : {}),
        message: v.message,
    }));
    return JSON.stringify({ resources: r.resources, violations, errors: r.errors }, null, 2) + "\n";
}

function pad(s: string, n: number): string {
    return s.length >= n ? s + "  " : s + " ".repeat(n - s.length + 2);
}

export function renderText(r: CheckReport): string {
    const lines: string[] = [];
    lines.push(r.title);
    lines.push(`Policy pack ${r.pack}${r.policyConfig ? ` with config ${r.policyConfig}` : " with its default levels"}`);
    lines.push("");
    const typeW = Math.min(60, Math.max(4, ...r.resources.map((x) => x.type.length)));
    const nameW = Math.min(50, Math.max(4, ...r.resources.map((x) => x.name.length)));
    lines.push(`     ${pad("Type", typeW)}${pad("Name", nameW)}Object`);
    for (const x of r.resources) {
        const mark = x.schema === "invalid" ? " !  " : " +  ";
        lines.push(`${mark} ${pad(x.type, typeW)}${pad(x.name, nameW)}${x.object ?? ""}`.trimEnd());
    }
    if (r.notes.length > 0) {
        lines.push("");
        lines.push("Notes:");
        for (const n of r.notes) lines.push(`    ${n}`);
    }
    if (r.errors.length > 0) {
        lines.push("");
        lines.push("Schema errors:");
        for (const e of r.errors) lines.push(`    ${e.resource}: ${e.message}`);
    }
    if (r.violations.length > 0) {
        lines.push("");
        lines.push("Policy violations:");
        for (const level of ["mandatory", "advisory"] as const) {
            for (const v of r.violations.filter((x) => x.enforcementLevel === level)) {
                lines.push(`    [${level}]  ${v.policy}${v.resource ? `  (${v.resource})` : ""}`);
                lines.push(`    ${v.message}`);
            }
        }
    }
    const m = mandatoryCount(r);
    const a = r.violations.length - m;
    const policies = new Set(r.violations.filter((v) => v.enforcementLevel === "mandatory").map((v) => v.policy)).size;
    lines.push("");
    lines.push(
        `Summary: ${plural(r.resources.length, "resource")}, ${plural(m, "mandatory violation")}` +
            `${m > 0 ? ` of ${plural(policies, "policy", "policies")}` : ""}, ${plural(a, "advisory finding")}, ` +
            `${plural(r.errors.length, "schema error")}: ${exitCode(r) === 0 ? "PASS" : "FAIL"}`,
    );
    return lines.join("\n") + "\n";
}
