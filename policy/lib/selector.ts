/**
 * Label selectors with the API server's semantics. A single shared label is not a match: the
 * whole selector must hold, or a PDB on `part-of: amalgam8` would "cover" every workload.
 */

export interface LabelSelectorRequirement {
    key: string;
    operator: string;
    values?: string[];
}

export interface LabelSelector {
    matchLabels?: Record<string, string>;
    matchExpressions?: LabelSelectorRequirement[];
}

export type Labels = Record<string, string>;

const OPERATORS = new Set(["In", "NotIn", "Exists", "DoesNotExist"]);

/** Problems that make the API reject a selector (or make it match nothing useful). */
export function selectorProblems(selector: unknown): string[] {
    if (selector === undefined || selector === null) {
        return [];
    }
    if (typeof selector !== "object" || Array.isArray(selector)) {
        return ["selector is not an object"];
    }
    const problems: string[] = [];
    const exprs = (selector as LabelSelector).matchExpressions;
    if (exprs !== undefined && !Array.isArray(exprs)) {
        problems.push("matchExpressions is not a list");
    }
    for (const e of Array.isArray(exprs) ? exprs : []) {
        if (!e || typeof e.key !== "string" || !OPERATORS.has(e.operator)) {
            problems.push(`matchExpressions entry ${JSON.stringify(e)} needs a key and one of In, NotIn, Exists, DoesNotExist`);
            continue;
        }
        const values = Array.isArray(e.values) ? e.values : [];
        if ((e.operator === "In" || e.operator === "NotIn") && values.length === 0) {
            problems.push(`matchExpressions ${e.key} ${e.operator} needs at least one value`);
        }
        if ((e.operator === "Exists" || e.operator === "DoesNotExist") && values.length > 0) {
            problems.push(`matchExpressions ${e.key} ${e.operator} must not list values`);
        }
    }
    return problems;
}

/**
 * metav1.LabelSelector semantics: a missing selector matches nothing, an empty one (`{}`)
 * matches everything, otherwise every matchLabels pair and every expression must hold.
 * A malformed selector matches nothing.
 */
export function matchesLabelSelector(selector: LabelSelector | undefined | null, labels: Labels): boolean {
    if (selector === undefined || selector === null || typeof selector !== "object") {
        return false;
    }
    if (selectorProblems(selector).length > 0) {
        return false;
    }
    for (const [k, v] of Object.entries(selector.matchLabels ?? {})) {
        if (labels[k] !== v) {
            return false;
        }
    }
    for (const e of selector.matchExpressions ?? []) {
        const has = Object.prototype.hasOwnProperty.call(labels, e.key);
        const values = e.values ?? [];
        switch (e.operator) {
            case "In":
                if (!has || !values.includes(labels[e.key])) return false;
                break;
            case "NotIn":
                // A missing key satisfies NotIn, as in the API server.
                if (has && values.includes(labels[e.key])) return false;
                break;
            case "Exists":
                if (!has) return false;
                break;
            case "DoesNotExist":
                if (has) return false;
                break;
            default:
                return false;
        }
    }
    return true;
}

/** True when the selector has no requirement at all (matches every pod). */
export function isEmptySelector(selector: LabelSelector | undefined | null): boolean {
    if (!selector || typeof selector !== "object") {
        return false;
    }
    return Object.keys(selector.matchLabels ?? {}).length === 0 && (selector.matchExpressions ?? []).length === 0;
}

/**
 * Service and ReplicationController selectors are plain maps. An empty or missing map selects no
 * pods for a Service (it then needs manual Endpoints).
 */
export function matchesMapSelector(selector: Record<string, string> | undefined | null, labels: Labels): boolean {
    if (!selector || typeof selector !== "object" || Object.keys(selector).length === 0) {
        return false;
    }
    return Object.entries(selector).every(([k, v]) => labels[k] === v);
}
