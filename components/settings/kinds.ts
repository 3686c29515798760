/**
 * The kinds of stack setting: each declares its default, the values it allows and a one-line
 * description. The parser (components/config.ts), the defaults and the documentation all read
 * these declarations; nothing restates them. Pure data and constructors.
 */

/** What every setting declares besides its rule. */
interface Declared<T> {
    /** What the setting does, in one line (README table, Pulumi.yaml). */
    readonly description: string;
    /** Never set: carries the type of the parsed value, so that a group is checked against its interface. */
    readonly valueType?: T;
}

export interface FlagSetting extends Declared<boolean> {
    readonly kind: "flag";
    readonly default: boolean;
}

export interface ChoiceSetting<T extends string = string> extends Declared<T> {
    readonly kind: "choice";
    readonly values: readonly T[];
    readonly default: T;
}

/** A default computed from the settings read before it in its group. */
export interface DerivedDefault {
    /** The rule in words, e.g. "3 × minReplicas". */
    readonly text: string;
    of(group: Readonly<Record<string, unknown>>): number;
}

export interface IntegerSetting extends Declared<number> {
    readonly kind: "integer";
    readonly default: number | DerivedDefault;
    readonly min: number;
    readonly max: number;
    /** Why the range is what it is; messages show it after the range. */
    readonly why?: string;
    /** A rule beyond the range: what is wrong with a value, or undefined. */
    rule?(value: number): string | undefined;
}

export interface TextSetting<T extends string | undefined = string | undefined> extends Declared<T> {
    readonly kind: "text";
    /** undefined: the setting is optional and absent unless given. */
    readonly default: T;
    readonly pattern: RegExp;
    /** What the message says of a value the pattern refuses, e.g. "is not a StorageClass name". */
    readonly mismatch: string;
    /** The values allowed, in words. */
    readonly allowed: string;
    /** What an absent optional setting means, e.g. "cluster default". */
    readonly unsetText?: string;
    /** A rule beyond the pattern: what is wrong with a value, or undefined. */
    rule?(value: string): string | undefined;
}

/** A container image reference, pinned to a tag other than `latest` or to a digest. */
export interface ImageSetting extends Declared<string> {
    readonly kind: "image";
    readonly default: string;
}

export interface GroupSetting<T> extends Declared<T> {
    readonly kind: "group";
    /** In the order messages list them as allowed keys. */
    readonly fields: Fields<T>;
    /** Absent (or null, or false) unless given; the fields' defaults apply once it is given. */
    readonly optional: boolean;
    /** Documented as one row (resources, autoscaling) instead of a row per field. */
    readonly oneRow: boolean;
    /** Groups of one family (the two services) share documentation rows. */
    readonly family?: string;
    /** What an absent optional group means, e.g. "off". */
    readonly unsetText?: string;
    /** The default in words, for a group documented as one row. */
    summary?(value: T): string;
    /** A rule across the fields: the field it blames and the problem, or undefined. */
    rule?(value: T): { readonly field: string; readonly problem: string } | undefined;
}

export type AnySetting = FlagSetting | ChoiceSetting | IntegerSetting | TextSetting | ImageSetting | GroupSetting<unknown>;

/** A setting whose parsed value is a T. */
export type Setting<T> = AnySetting & Declared<T>;

export type Fields<T> = { readonly [K in keyof T]-?: Setting<T[K]> };

export function flag(defaultValue: boolean, description: string): FlagSetting {
    return { kind: "flag", default: defaultValue, description };
}

export function choice<T extends string>(values: readonly T[], defaultValue: T, description: string): ChoiceSetting<T> {
    return { kind: "choice", values, default: defaultValue, description };
}

export function integer(o: Omit<IntegerSetting, "kind">): IntegerSetting {
    return { kind: "integer", ...o };
}

export function text<T extends string | undefined>(o: Omit<TextSetting<T>, "kind">): TextSetting<T> {
    return { kind: "text", ...o };
}

export function image(defaultValue: string, description: string): ImageSetting {
    return { kind: "image", default: defaultValue, description };
}

type GroupOptions<T> = Partial<Omit<GroupSetting<T>, "kind" | "fields" | "description">>;

export function group<T>(fields: Fields<T>, description: string, o: GroupOptions<T> = {}): GroupSetting<T> {
    return { kind: "group", fields, description, optional: false, oneRow: false, ...o };
}

/** An integer setting's default, given the settings read before it in its group. */
export function integerDefault(s: IntegerSetting, group: Readonly<Record<string, unknown>>): number {
    return typeof s.default === "number" ? s.default : s.default.of(group);
}

/**
 * The value of a setting when nothing is given: its default, or its fields' defaults; undefined
 * when optional. `group` holds the defaults of the settings before it in its group.
 */
export function defaultOf<T>(setting: Setting<T>, group: Readonly<Record<string, unknown>> = {}): T {
    const s = setting as AnySetting;
    if (s.kind === "integer") return integerDefault(s, group) as T;
    if (s.kind !== "group") return s.default as T;
    if (s.optional) return undefined as T;
    const value: Record<string, unknown> = {};
    for (const [key, field] of fieldsOf(s)) {
        const fieldDefault = defaultOf(field, value);
        if (fieldDefault !== undefined) value[key] = fieldDefault;
    }
    return value as T;
}

/** The fields of a group, untyped, in their declared order. */
export function fieldsOf(g: GroupSetting<unknown>): [string, AnySetting][] {
    return Object.entries(g.fields as Record<string, AnySetting>);
}

/** `min-max (why)`: the range as messages state it. */
export function rangeText(s: IntegerSetting): string {
    return `${s.min}-${s.max}${s.why ? ` (${s.why})` : ""}`;
}
