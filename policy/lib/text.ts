/** Wording shared by messages and reports. */

/** `1 replica`, `2 replicas`, `1 policy`, `37 policies`. */
export function plural(n: number, singular: string, pluralForm = `${singular}s`): string {
    return `${n} ${n === 1 ? singular : pluralForm}`;
}

/** Labels as a YAML-ish inline map: `{app.kubernetes.io/name: redis, app.kubernetes.io/component: server}`. */
export function showLabels(labels: Record<string, string>): string {
    const e = Object.entries(labels);
    return e.length === 0 ? "{}" : `{${e.map(([k, v]) => `${k}: ${v}`).join(", ")}}`;
}
