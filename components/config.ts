/**
 * Stack configuration: reads the settings of one environment, as declared in settings/schema.ts
 * (types, defaults, allowed values), and validates them before any resource is registered.
 * Pure: no Pulumi runtime, no I/O.
 */
import { imageProblem } from "./settings/image";
import { AnySetting, GroupSetting, defaultOf, fieldsOf, integerDefault, rangeText } from "./settings/kinds";
import { redisPasswordProblem } from "./settings/redisPassword";
import { PROJECT, SECRET_KEYS, SETTINGS, TOP_LEVEL_KEYS } from "./settings/schema";
import { foreignKeyProblem } from "./settings/stackFile";
import { ControlPlaneSettings, ControlPlaneSettingsInput } from "./settings/types";

export * from "./settings/types";
export { DEFAULTS, PROJECT, SECRET_KEYS, parseHostPort } from "./settings/schema";
export { OTHER_CONFIG_NAMESPACES, STACK_FILE_KEYS, foreignKeyProblem, stackFileProblems } from "./settings/stackFile";

/** Every invalid value found, each message naming the full config key. */
export class ConfigError extends Error {
    constructor(readonly problems: string[]) {
        super(problems.join("\n"));
        this.name = "ConfigError";
    }
}

type Json = unknown;
type Obj = Record<string, Json>;

/** How the settings reach the program: stack config keys, or a library user's arguments. */
interface Source {
    /** The name of a setting in messages: `a8-control-plane:controller.replicas` or `controller.replicas`. */
    key(path: string): string;
    /** How to give a setting a value, e.g. `pulumi config set --path controller.replicas 1`. */
    howToSet(path: string, value: string): string;
}

const STACK_CONFIG: Source = {
    key: (path) => `${PROJECT}:${path}`,
    howToSet: (path, value) => `pulumi config set --path ${path} ${value}`,
};

const LIBRARY_ARGS: Source = {
    key: (path) => path,
    howToSet: (path, value) => `${path}: ${value}`,
};

function isObj(value: Json): value is Obj {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Walks the raw config, recording problems instead of stopping at the first one. */
class Reader {
    readonly problems: string[] = [];

    constructor(readonly source: Source) {}

    key(path: string): string {
        return this.source.key(path);
    }

    fail(path: string, value: Json, allowed: string): undefined {
        this.problems.push(`${this.key(path)}: ${show(value)} ${allowed}`);
        return undefined;
    }

    object(path: string, value: Json, known: readonly string[]): Obj | undefined {
        if (value === undefined) return {};
        if (!isObj(value)) return this.fail(path, value, "is not an object");
        for (const k of Object.keys(value)) {
            if (!known.includes(k)) {
                this.problems.push(`${this.key(`${path}.${k}`)}: unknown key (allowed in ${path}: ${known.join(", ")})`);
            }
        }
        return value;
    }

    enumeration<T extends string>(path: string, value: Json, allowed: readonly T[], fallback: T): T {
        if (value === undefined) return fallback;
        if (typeof value === "string" && (allowed as readonly string[]).includes(value)) return value as T;
        this.fail(path, value, `is not one of ${allowed.join(", ")}`);
        return fallback;
    }

    /** `range` as messages state it: `1-1000`, or `2-100 (why)`. */
    integer(path: string, value: Json, fallback: number, min: number, max: number, range: string): number {
        if (value === undefined) return fallback;
        const n = typeof value === "string" && /^-?\d+$/.test(value.trim()) ? Number(value) : value;
        if (typeof n !== "number" || !Number.isInteger(n)) {
            this.fail(path, value, `is not an integer (allowed: ${range})`);
            return fallback;
        }
        if (n < min || n > max) {
            this.fail(path, value, `is outside ${range}`);
            return fallback;
        }
        return n;
    }

    boolean(path: string, value: Json, fallback: boolean): boolean {
        if (value === undefined) return fallback;
        if (value === true || value === "true") return true;
        if (value === false || value === "false") return false;
        this.fail(path, value, "is not a boolean (allowed: true, false)");
        return fallback;
    }
}

function show(value: Json): string {
    return JSON.stringify(value) ?? String(value);
}

function readImage(r: Reader, path: string, value: Json, fallback: string): string {
    if (value === undefined) return fallback;
    if (typeof value !== "string") return r.fail(path, value, "is not a string (an image reference name:tag)") ?? fallback;
    const problem = imageProblem(value);
    if (problem) r.fail(path, value, problem);
    return value;
}

/**
 * One setting as its declaration says. `group` holds the settings of the same group read before
 * it (a default may derive from them). On a problem the default stands in, so that the rules
 * across settings still see a value; the problem itself is recorded.
 */
function readSetting(r: Reader, path: string, s: AnySetting, value: Json, group: Obj): Json {
    switch (s.kind) {
        case "flag":
            return r.boolean(path, value, s.default);
        case "choice":
            return r.enumeration(path, value, s.values, s.default);
        case "image":
            return readImage(r, path, value, s.default);
        case "integer": {
            const n = r.integer(path, value, integerDefault(s, group), s.min, s.max, rangeText(s));
            const problem = s.rule?.(n);
            if (problem) r.fail(path, n, problem);
            return n;
        }
        case "text": {
            if (value === undefined) return s.default;
            if (typeof value !== "string" || !s.pattern.test(value)) return r.fail(path, value, s.mismatch) ?? s.default;
            const problem = s.rule?.(value);
            if (problem) r.fail(path, value, problem);
            return value;
        }
        case "group":
            return readGroup(r, path, s, value);
    }
}

function readGroup(r: Reader, path: string, g: GroupSetting<unknown>, value: Json): Obj | undefined {
    if (g.optional && (value === undefined || value === null || value === false)) return undefined;
    const fields = fieldsOf(g);
    const known = fields.map(([k]) => k);
    const given = r.object(path, value, known);
    if (!given) return g.optional ? undefined : (defaultOf(g) as Obj);
    const result = readFields(r, path, fields, given);
    const broken = g.rule?.(result);
    if (broken) r.fail(`${path}.${broken.field}`, result[broken.field], broken.problem);
    return result;
}

/** The fields of a group, in their declared order; an absent optional field stays absent. */
function readFields(r: Reader, path: string, fields: [string, AnySetting][], given: Obj): Obj {
    const result: Obj = {};
    for (const [key, setting] of fields) {
        const value = readSetting(r, path ? `${path}.${key}` : key, setting, given[key], result);
        if (value !== undefined) result[key] = value;
    }
    return result;
}

/** Config values arrive as strings; structured ones hold JSON. */
function decode(path: string, raw: string, r: Reader): Json {
    const t = raw.trim();
    if (t.startsWith("{") || t.startsWith("[")) {
        try {
            return JSON.parse(t);
        } catch {
            return r.fail(path, raw, "is not valid JSON");
        }
    }
    return raw;
}

export interface RawConfig {
    /** Full keys (`a8-control-plane:controller`) to raw string values, as `pulumi.runtime.allConfig()` gives them. */
    readonly values: Readonly<Record<string, string>>;
    /** Full keys that hold secrets. */
    readonly secretKeys?: readonly string[];
}

const isSecretKey = (key: string) => (SECRET_KEYS as readonly string[]).includes(key);

/**
 * Validates and completes the stack configuration. Throws a ConfigError naming every invalid key,
 * its value and what is allowed. Keys of the provider the program uses (`kubernetes:context`) and
 * Pulumi's own are left to them; keys of any other namespace are errors.
 */
export function parseSettings(raw: RawConfig): ControlPlaneSettings {
    const r = new Reader(STACK_CONFIG);
    const prefix = `${PROJECT}:`;
    const top: Obj = {};
    for (const [fullKey, value] of Object.entries(raw.values)) {
        if (!fullKey.startsWith(prefix)) {
            const problem = foreignKeyProblem(fullKey);
            if (problem) r.problems.push(problem);
            continue;
        }
        const key = fullKey.slice(prefix.length);
        if (!TOP_LEVEL_KEYS.includes(key)) {
            const parent = key.split(".")[0];
            const hint =
                key.includes(".") && TOP_LEVEL_KEYS.includes(parent)
                    ? ` (a nested setting is set with --path: pulumi config set --path ${key} <value>)`
                    : ` (allowed: ${TOP_LEVEL_KEYS.join(", ")})`;
            r.problems.push(`${fullKey}: unknown key${hint}`);
            continue;
        }
        top[key] = isSecretKey(key) ? value : decode(key, value, r);
    }
    const secretKeys = raw.secretKeys ?? [];
    for (const key of SECRET_KEYS) {
        if (top[key] !== undefined && !secretKeys.includes(r.key(key))) {
            r.problems.push(`${r.key(key)}: is stored in plain text (set it with: pulumi config set --secret ${key} <value>)`);
        }
        if (top[key] === "") r.problems.push(`${r.key(key)}: is empty`);
    }

    const settings = readSettings(r, top);
    if (r.problems.length > 0) throw new ConfigError(r.problems);
    return settings;
}

/**
 * Validates a library user's settings with the rules of the stack configuration, and completes
 * them with the defaults. Secrets are checked when given as plain strings (an Output is checked by
 * nobody before the deployment). Throws a ConfigError naming every invalid argument.
 */
export function resolveSettings(
    input: ControlPlaneSettingsInput,
    secrets: { jwtSecret?: unknown; redisPassword?: unknown } = {},
): ControlPlaneSettings {
    const r = new Reader(LIBRARY_ARGS);
    const top: Obj = {};
    for (const [key, value] of Object.entries({ ...input, ...secrets })) {
        if (!TOP_LEVEL_KEYS.includes(key)) {
            r.problems.push(`${key}: unknown key (allowed: ${TOP_LEVEL_KEYS.join(", ")})`);
        } else if (value !== undefined) {
            top[key] = value;
        }
    }
    const settings = readSettings(r, top);
    if (r.problems.length > 0) throw new ConfigError(r.problems);
    return settings;
}

function readSettings(r: Reader, top: Obj): ControlPlaneSettings {
    const settings = readFields(r, "", fieldsOf(SETTINGS), top) as unknown as ControlPlaneSettings;
    crossCheck(r, settings, top);
    return settings;
}

/** Rules that span several keys. */
function crossCheck(r: Reader, s: ControlPlaneSettings, top: Obj): void {
    if (s.storage === "memory") {
        const unset: string[] = [];
        for (const service of ["controller", "registry"] as const) {
            const svc = s[service];
            const given = top[service] && typeof top[service] === "object" ? (top[service] as Obj).replicas : undefined;
            if (svc.replicas > 1 && given === undefined) unset.push(`${service}.replicas`);
            // An invalid value was reported already; the default that replaced it is not the user's.
            if (svc.replicas > 1 && given !== undefined && Number(given) === svc.replicas) {
                r.fail(
                    `${service}.replicas`,
                    svc.replicas,
                    "must be 1 with storage memory " +
                        "(each replica would keep its own copy of the data; use storage redis for several replicas)",
                );
            }
            if (svc.autoscaling) {
                r.problems.push(
                    `${r.key(`${service}.autoscaling`)}: cannot be used with storage memory ` +
                        "(each replica would keep its own copy of the data)",
                );
            }
        }
        if (unset.length > 0) {
            // Name what to set, not a default the user never wrote.
            const how = unset.map((p) => r.source.howToSet(p, "1")).join("; ");
            r.problems.push(
                `${r.key("storage")}: "memory" runs one replica of each service (each would keep its own copy of the data): ` +
                    `set ${unset.join(" and ")} to 1 (${how}), or use storage redis`,
            );
        }
        if (top.redis !== undefined) {
            r.problems.push(`${r.key("redis")}: is set but storage is memory (remove it, or set storage to redis)`);
        }
        if (top.redisPassword !== undefined) {
            r.problems.push(`${r.key("redisPassword")}: is set but storage is memory`);
        }
    }
    const redisGiven = isObj(top.redis) ? top.redis : {};
    if (s.redis.mode === "external" && redisGiven.address === undefined) {
        r.problems.push(`${r.key("redis.address")}: required when redis.mode is external (the managed Redis endpoint, host:port)`);
    }
    if (s.redis.mode !== "external" && s.redis.address !== undefined) {
        r.fail("redis.address", s.redis.address, `is only used when redis.mode is external (mode is ${s.redis.mode})`);
    }
    if (s.storage === "redis" && s.redis.mode === "external" && top.redisPassword === undefined) {
        r.problems.push(
            `${r.key("redisPassword")}: required when redis.mode is external (pulumi config set --secret redisPassword <password>)`,
        );
    }
    const password = top.redisPassword;
    // A managed Redis keeps its own password; ours goes into configuration files.
    const passwordProblem = s.redis.mode !== "external" && typeof password === "string" ? redisPasswordProblem(password) : undefined;
    // Never echo a secret: say only what is wrong with it.
    if (passwordProblem) r.problems.push(`${r.key("redisPassword")}: ${passwordProblem}`);
    if (s.auth !== "jwt" && top.jwtSecret !== undefined) {
        r.problems.push(`${r.key("jwtSecret")}: is set but auth is ${s.auth} (set auth to jwt, or remove it)`);
    }
    if (s.serviceType === "NodePort" && s.controller.nodePort === s.registry.nodePort) {
        r.fail(
            "registry.nodePort",
            s.registry.nodePort,
            `collides with controller.nodePort (${s.controller.nodePort}); each Service needs its own node port`,
        );
    }
}

/** The tag of a pinned image (used as the `app.kubernetes.io/version` label). */
export function imageVersion(image: string): string {
    const digest = image.indexOf("@");
    if (digest >= 0) return image.slice(digest + 8, digest + 8 + 12);
    const lastSlash = image.lastIndexOf("/");
    const colon = image.indexOf(":", lastSlash + 1);
    return colon < 0 ? "latest" : image.slice(colon + 1);
}
