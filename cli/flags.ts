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

/** What a flag of a declared command line takes. */
export type FlagSpec =
    | { readonly kind: "boolean" }
    | { readonly kind: "integer"; readonly min: number; readonly max: number }
    | { readonly kind: "integers"; readonly min: number; readonly max: number }
    | { readonly kind: "choice"; readonly values: readonly string[] };

type FlagValue<S extends FlagSpec> = S extends { kind: "boolean" }
    ? true
    : S extends { kind: "integer" }
      ? number
      : S extends { kind: "integers" }
        ? number[]
        : S extends { kind: "choice"; values: readonly (infer V)[] }
          ? V
          : never;

export type ParsedFlags<F extends Record<string, FlagSpec>> = { -readonly [K in keyof F]?: FlagValue<F[K]> };

function integerOf(flag: string, text: string, min: number, max: number): number {
    const n = Number(text);
    if (!/^\d+$/.test(text) || n < min || n > max) throw new InputError(`${flag}: "${text}" is not an integer from ${min} to ${max}`);
    return n;
}

/**
 * Parses argv against declared flags (`{ "--runs": { kind: "integer", min: 1, max: 20 } }`): the
 * flags given, typed; one wording for every tool's bad input (InputError, exit 2).
 */
export function parseFlags<F extends Record<string, FlagSpec>>(argv: readonly string[], flags: F): ParsedFlags<F> {
    const names = Object.keys(flags);
    const given = scanFlags(
        argv,
        new Set(names.filter((n) => flags[n].kind !== "boolean")),
        new Set(names.filter((n) => flags[n].kind === "boolean")),
    );
    const out: Record<string, unknown> = {};
    for (const { flag, value = "" } of given) {
        const spec = flags[flag];
        if (spec.kind === "boolean") out[flag] = true;
        else if (spec.kind === "integer") out[flag] = integerOf(flag, value, spec.min, spec.max);
        else if (spec.kind === "integers") out[flag] = value.split(",").map((v) => integerOf(flag, v, spec.min, spec.max));
        else if (spec.values.includes(value)) out[flag] = value;
        else throw new InputError(`${flag}: "${value}" is not one of ${spec.values.join(", ")}`);
    }
    return out as ParsedFlags<F>;
}
