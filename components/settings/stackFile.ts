/**
 * Checks of a Pulumi stack settings file (`Pulumi.<stack>.yaml`) beyond the values of its keys:
 * keys the Pulumi CLI would silently ignore, and keys of a namespace nothing reads. Pure.
 */
import { PROJECT } from "./schema";

type Obj = Record<string, unknown>;

/** Namespaces a stack's config keys may use besides the project's: the provider the program uses, and Pulumi's own. */
export const OTHER_CONFIG_NAMESPACES = ["kubernetes", "pulumi"] as const;

/**
 * A config key outside the project's namespace is either a provider's the program uses, Pulumi's
 * own, or a mistake that would otherwise be ignored (a typo in the prefix deploys the defaults).
 */
export function foreignKeyProblem(fullKey: string, project: string = PROJECT): string | undefined {
    const colon = fullKey.indexOf(":");
    const namespace = colon < 0 ? "" : fullKey.slice(0, colon);
    if (namespace === project || (OTHER_CONFIG_NAMESPACES as readonly string[]).includes(namespace)) return undefined;
    const allowed = [project, ...OTHER_CONFIG_NAMESPACES].map((n) => `${n}:<key>`).join(", ");
    const key = colon < 0 ? fullKey : fullKey.slice(colon + 1);
    const guess = colon < 0 || closeTo(namespace, project) ? ` (did you mean ${project}:${key}?)` : "";
    const what = colon < 0 ? "has no namespace" : `is in namespace ${namespace}, which nothing here reads`;
    return `${fullKey}: ${what}; keys are ${allowed}${guess}`;
}

/** Top-level keys of a Pulumi stack settings file (`Pulumi.<stack>.yaml`). */
export const STACK_FILE_KEYS = ["config", "environment", "secretsprovider", "encryptedkey", "encryptionsalt"] as const;

/**
 * What is wrong with a parsed stack settings file: a key the Pulumi CLI would silently ignore (one
 * not under `config:`), or a config key of a namespace nothing reads. Each problem names the key.
 */
export function stackFileProblems(doc: unknown, project: string = PROJECT): string[] {
    if (doc === null || doc === undefined) return [];
    const isMap = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
    if (!isMap(doc)) return [`is not a mapping (expected config: with ${project}:<key> entries)`];
    const problems: string[] = [];
    for (const key of Object.keys(doc)) {
        if ((STACK_FILE_KEYS as readonly string[]).includes(key)) continue;
        problems.push(
            key.includes(":")
                ? `${key}: is not under config: (the Pulumi CLI would ignore it; indent it under config:)`
                : `${key}: unknown top-level key (allowed: ${STACK_FILE_KEYS.join(", ")})`,
        );
    }
    const config = doc.config;
    if (config !== undefined && config !== null && !isMap(config)) {
        problems.push(`config: is not a mapping of ${project}:<key> entries`);
    } else {
        for (const key of Object.keys(config ?? {})) {
            const problem = foreignKeyProblem(key, project);
            if (problem) problems.push(problem);
        }
    }
    return problems;
}

/** A typo away: at most 3 single-character edits. */
function closeTo(a: string, b: string): boolean {
    let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
        const cur = [i];
        for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
        prev = cur;
    }
    return prev[b.length] <= 3;
}
