/**
 * `--out <dir>`: one YAML file per Kubernetes object for review diffs. Paths, key order and
 * formatting are deterministic so two runs on the same commit are byte-identical; Secret values
 * are redacted because the files end up in PR artifacts.
 */
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { CLUSTER_SCOPED_KINDS, K8sObject } from "../../policy/lib/k8s";

export const REDACTED = "<redacted>";

export function sortKeys(v: unknown): unknown {
    if (Array.isArray(v)) {
        return v.map(sortKeys);
    }
    if (v && typeof v === "object") {
        const out: Record<string, unknown> = {};
        for (const k of Object.keys(v as Record<string, unknown>).sort()) {
            const x = (v as Record<string, unknown>)[k];
            if (x !== undefined) out[k] = sortKeys(x);
        }
        return out;
    }
    return v;
}

export function redact(obj: K8sObject): K8sObject {
    if (obj.kind !== "Secret") {
        return obj;
    }
    const copy: K8sObject = { ...obj };
    for (const field of ["data", "stringData"]) {
        const d = obj[field];
        if (d && typeof d === "object") {
            copy[field] = Object.fromEntries(Object.keys(d).map((k) => [k, REDACTED]));
        }
    }
    return copy;
}

function safe(s: string): string {
    return s.toLowerCase().replace(/[^a-z0-9._-]+/g, "_");
}

/** `<namespace>/<kind>-<name>.yaml`; `_cluster` for cluster-scoped kinds, `_default` when unset. */
export function relativePath(obj: K8sObject): string {
    const kind = String(obj.kind ?? "object");
    const ns = CLUSTER_SCOPED_KINDS.has(kind) ? "_cluster" : typeof obj.metadata?.namespace === "string" && obj.metadata.namespace ? obj.metadata.namespace : "_default";
    return path.join(safe(ns), `${safe(kind)}-${safe(String(obj.metadata?.name ?? "unnamed"))}.yaml`);
}

export function renderObject(obj: K8sObject): string {
    return YAML.stringify(sortKeys(redact(obj)), { lineWidth: 0, indent: 2, sortMapEntries: false });
}

function removeStale(dir: string): void {
    if (!fs.existsSync(dir)) {
        return;
    }
    const walk = (d: string) => {
        for (const e of fs.readdirSync(d, { withFileTypes: true })) {
            const full = path.join(d, e.name);
            if (e.isDirectory()) {
                walk(full);
                if (fs.readdirSync(full).length === 0) fs.rmdirSync(full);
            } else if (e.isFile() && e.name.endsWith(".yaml")) {
                fs.unlinkSync(full);
            }
        }
    };
    walk(dir);
}

/** Writes every object; returns the relative paths written, sorted. */
export function writeObjects(dir: string, objects: K8sObject[]): string[] {
    removeStale(dir);
    const byPath = new Map<string, K8sObject[]>();
    for (const o of objects) {
        const p = relativePath(o);
        byPath.set(p, [...(byPath.get(p) ?? []), o]);
    }
    const written: string[] = [];
    for (const [p, objs] of [...byPath.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
        // Same kind and name in two API groups: one file, documents ordered by apiVersion.
        const docs = objs
            .map(renderObject)
            .sort()
            .join("---\n");
        const full = path.join(dir, p);
        fs.mkdirSync(path.dirname(full), { recursive: true });
        fs.writeFileSync(full, docs);
        written.push(p);
    }
    return written;
}
