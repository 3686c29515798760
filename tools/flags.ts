/** Command-line flags shared by the project's CLIs (`npm run check`, `npm run smoke`). */
import { InputError } from "./errors";

/** A flag as given: `--flag value`, `--flag=value`, or a boolean `--flag` (no value). */
export interface GivenFlag {
    readonly flag: string;
    readonly value?: string;
}

/**
 * Splits argv into flags. A value flag takes `=value` or the next argument; a boolean flag takes
 * none. An unknown flag, a stray argument, a missing or empty value and a value flag given twice
 * are InputErrors naming the flag (exit 2).
 */
export function scanFlags(argv: readonly string[], valueFlags: ReadonlySet<string>, booleanFlags: ReadonlySet<string>): GivenFlag[] {
    const given: GivenFlag[] = [];
    const seen = new Set<string>();
    for (let i = 0; i < argv.length; i++) {
        let flag = argv[i];
        let value: string | undefined;
        const eq = flag.indexOf("=");
        if (flag.startsWith("--") && eq > 0) {
            value = flag.slice(eq + 1);
            flag = flag.slice(0, eq);
        }
        if (booleanFlags.has(flag)) {
            if (value !== undefined) throw new InputError(`${flag} takes no value`);
            given.push({ flag });
            continue;
        }
        if (!valueFlags.has(flag)) {
            throw new InputError(flag.startsWith("-") ? `unknown flag ${flag} (see --help)` : `unexpected argument "${flag}" (see --help)`);
        }
        if (value === undefined) {
            const next = argv[i + 1];
            // "-" alone is a value (standard input); another flag is not.
            if (next === undefined || (next.startsWith("--") && next.length > 2)) throw new InputError(`${flag} needs a value`);
            value = next;
            i++;
        }
        if (value === "") throw new InputError(`${flag} needs a value`);
        if (seen.has(flag)) throw new InputError(`${flag} given twice`);
        seen.add(flag);
        given.push({ flag, value });
    }
    return given;
}
