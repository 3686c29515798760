/** Plain-text tables for the benchmarks' reports. */

/**
 * `head` and `rows` in columns two spaces apart, under a rule: the first `leftColumns` (labels)
 * left-aligned, the others (figures) right-aligned.
 */
export function textTable(head: readonly string[], rows: readonly (readonly string[])[], leftColumns = 1): string {
    const all = [head, ...rows];
    const widths = head.map((_, c) => Math.max(...all.map((r) => (r[c] ?? "").length)));
    const line = (r: readonly string[]): string =>
        r
            .map((cell, c) => (c < leftColumns ? cell.padEnd(widths[c]) : cell.padStart(widths[c])))
            .join("  ")
            .trimEnd();
    return [line(head), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}
