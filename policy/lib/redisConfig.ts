/**
 * Redis and Sentinel configuration: parsing redis.conf / sentinel.conf text and command-line
 * flags, and reading the configuration a workload runs with from its mounted files and commands.
 */
import { Container, commandWords } from "./k8s";
import type { StackModel, Workload } from "./model";
import { sentinelContainers, serverContainers } from "./redis";

/** One `directive arg...` line of redis.conf / sentinel.conf; the directive is lower-cased. */
export interface ConfDirective {
    name: string;
    args: string[];
}

/** Splits a config line into words, honouring single and double quotes. */
function words(line: string): string[] {
    const out: string[] = [];
    const re = /"((?:[^"\\]|\\.)*)"|'([^']*)'|(\S+)/g;
    let m: RegExpExecArray | null;
    while ((m = re.exec(line)) !== null) {
        const w = m[1] ?? m[2] ?? m[3];
        if (m[3] !== undefined && m[3].startsWith("#")) {
            // Redis has no trailing comments, but a stray one must not read as a value.
            break;
        }
        out.push(w);
    }
    return out;
}

/** Parses redis.conf / sentinel.conf text tolerantly: comments, blank lines, any case, CRLF. */
export function parseConf(text: unknown): ConfDirective[] {
    if (typeof text !== "string") {
        return [];
    }
    const out: ConfDirective[] = [];
    for (const raw of text.split(/\r?\n/)) {
        const line = raw.trim();
        if (line === "" || line.startsWith("#")) {
            continue;
        }
        const w = words(line);
        if (w.length > 0) {
            out.push({ name: w[0].toLowerCase(), args: w.slice(1) });
        }
    }
    return out;
}

/**
 * Directives given on the command line: `redis-server /etc/redis.conf --appendonly yes
 * --requirepass "$(PW)"`, also inside `sh -c "..."` strings.
 */
export function parseArgDirectives(c: Container): ConfDirective[] {
    const text = commandWords(c).join(" ");
    const out: ConfDirective[] = [];
    const tokens = words(text.replace(/\\\n/g, " "));
    for (let i = 0; i < tokens.length; i++) {
        const t = tokens[i];
        if (!t.startsWith("--") || t.length <= 2) {
            continue;
        }
        const [flag, inline] = t.slice(2).split("=", 2);
        const args: string[] = [];
        if (inline !== undefined) {
            args.push(inline);
        } else {
            while (i + 1 < tokens.length && !tokens[i + 1].startsWith("--") && !/^(&&|;|\|\|)$/.test(tokens[i + 1])) {
                args.push(tokens[++i]);
            }
        }
        out.push({ name: flag.toLowerCase(), args });
    }
    return out;
}

export function lastDirective(ds: ConfDirective[], name: string): ConfDirective | undefined {
    const n = name.toLowerCase();
    for (let i = ds.length - 1; i >= 0; i--) {
        if (ds[i].name === n) {
            return ds[i];
        }
    }
    return undefined;
}

export interface SentinelMonitor {
    master: string;
    host: string;
    port: string;
    quorum: number;
}

/** `sentinel monitor <name> <host> <port> <quorum>` lines. */
export function sentinelMonitors(ds: ConfDirective[]): SentinelMonitor[] {
    const out: SentinelMonitor[] = [];
    for (const d of ds) {
        if (d.name === "sentinel" && (d.args[0] ?? "").toLowerCase() === "monitor" && d.args.length >= 5) {
            const q = Number(d.args[4]);
            out.push({ master: d.args[1], host: d.args[2], port: d.args[3], quorum: Number.isInteger(q) ? q : NaN });
        }
    }
    return out;
}

/** `sentinel <sub> <master> ...` (e.g. auth-pass) for a given sub-command. */
export function sentinelSub(ds: ConfDirective[], sub: string): ConfDirective[] {
    return ds.filter((d) => d.name === "sentinel" && (d.args[0] ?? "").toLowerCase() === sub);
}

/** Whether a data key of a ConfigMap/Secret holds Sentinel rather than Redis configuration. */
function isSentinelConfKey(key: string): boolean {
    return /sentinel/i.test(key) && /\.conf$/i.test(key);
}

function isRedisConfKey(key: string): boolean {
    return /\.conf$/i.test(key) && !isSentinelConfKey(key) && !/haproxy|nginx|envoy/i.test(key);
}

export interface RedisConfigView {
    /** Directives from mounted *.conf files then command-line flags (later wins). */
    directives: ConfDirective[];
    /** Where requirepass came from, if anywhere. */
    requirepassFrom?: { kind: "file"; key: string; fromSecret: boolean; owner: string } | { kind: "args"; value: string };
}

/** Redis server configuration of a data-node workload. */
export function redisServerConfig(model: StackModel, w: Workload): RedisConfigView {
    const directives: ConfDirective[] = [];
    let requirepassFrom: RedisConfigView["requirepassFrom"];
    for (const f of model.mountedFiles(w)) {
        if (!isRedisConfKey(f.key)) {
            continue;
        }
        const ds = parseConf(f.text);
        if (lastDirective(ds, "requirepass")) {
            requirepassFrom = { kind: "file", key: f.key, fromSecret: f.fromSecret, owner: f.owner.ref };
        }
        directives.push(...ds);
    }
    for (const c of serverContainers(w.pod)) {
        const ds = parseArgDirectives(c);
        const rp = lastDirective(ds, "requirepass");
        if (rp) {
            requirepassFrom = { kind: "args", value: rp.args.join(" ") };
        }
        directives.push(...ds);
    }
    return { directives, requirepassFrom };
}

/** Sentinel configuration of a workload running Sentinel containers. */
export function sentinelConfig(model: StackModel, w: Workload): ConfDirective[] {
    const out: ConfDirective[] = [];
    for (const f of model.mountedFiles(w)) {
        if (isSentinelConfKey(f.key)) {
            out.push(...parseConf(f.text));
        }
    }
    for (const c of sentinelContainers(w.pod)) {
        out.push(...parseArgDirectives(c));
    }
    return out;
}

/** The variable a value reads (`$(PW)`, `${PW}`, `$PW`) instead of being a literal, if any. */
export function referencedVariable(value: string): string | undefined {
    const m = /\$\(([A-Za-z_][A-Za-z0-9_]*)\)|\$\{([A-Za-z_][A-Za-z0-9_]*)[^}]*\}|\$([A-Za-z_][A-Za-z0-9_]*)/.exec(value);
    return m ? (m[1] ?? m[2] ?? m[3]) : undefined;
}
