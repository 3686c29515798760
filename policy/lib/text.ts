/** Wording shared by messages and reports. */

/** `1 replica`, `2 replicas`, `1 policy`, `37 policies`. */
export function plural(n: number, singular: string, pluralForm = `${singular}s`): string {
    return `${n} ${n === 1 ? singular : pluralForm}`;
}
