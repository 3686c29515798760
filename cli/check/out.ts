/**
 * `--out <dir>`: one YAML file per Kubernetes object for review diffs. Paths, key order and
 * formatting are deterministic so two runs on the same commit are byte-identical; Secret values
 * are redacted because the files end up in PR artifacts. The folder is check's own: new, empty,
 * or written by an earlier run, whose files it lists in OUT_MARKER.
 */
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { K8sObject } from "../../policy/lib/k8s";
import { CLUSTER_SCOPED_KINDS } from "../../policy/lib/kinds";
import { InputError } from "../errors";

export const REDACTED = "<redacted>";

function sortKeys(v: unknown): unknown {
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
    // No leading dot: a name like ".." must not escape the folder.
    return s
        .toLowerCase()
        .replace(/[^a-z0-9._-]+/g, "_")
        .replace(/^\./, "_");
}

/** `<namespace>/<kind>-<name>.yaml`; `_cluster` for cluster-scoped kinds, `_default` when unset. */
export function relativePath(obj: K8sObject): string {
    const kind = String(obj.kind ?? "object");
    const ns = CLUSTER_SCOPED_KINDS.has(kind)
        ? "_cluster"
        : typeof obj.metadata?.namespace === "string" && obj.metadata.namespace
          ? obj.metadata.namespace
          : "_default";
    return path.join(safe(ns), `${safe(kind)}-${safe(String(obj.metadata?.name ?? "unnamed"))}.yaml`);
}

export function renderObject(obj: K8sObject): string {
    return YAML.stringify(sortKeys(redact(obj)), { lineWidth: 0, indent: 2, sortMapEntries: false });
}

/**
 * The list of files an earlier `--out` wrote into its folder. A run removes only the files listed
 * there, so a file check did not write is never deleted or overwritten.
 */
export const OUT_MARKER = ".check-out.json";

interface Marker {
    readonly writtenBy: string;
    readonly files: readonly string[];
}

const WRITTEN_BY = "npm run check -- --out";

function markerText(files: readonly string[]): string {
    const marker: Marker = { writtenBy: WRITTEN_BY, files: [...files].sort() };
    return JSON.stringify(marker, null, 2) + "\n";
}

/** A relative path of a file --out writes: `<folder>/<file>.yaml`, nothing that leaves the folder. */
function isOwnPath(p: unknown): p is string {
    return (
        typeof p === "string" && p.endsWith(".yaml") && !path.isAbsolute(p) && path.normalize(p) === p && !p.split(path.sep).includes("..")
    );
}

function errnoOf(e: unknown): string {
    return (e as NodeJS.ErrnoException).code ?? String(e);
}

/**
 * Which files of `dir` belong to --out: none for a new or empty folder, those listed in its marker
 * otherwise. Refuses (InputError, nothing touched) a folder that is not empty and has no marker.
 */
export function ownedFiles(dir: string): string[] {
    let stat: fs.Stats;
    try {
        stat = fs.statSync(dir);
    } catch (e) {
        if (errnoOf(e) === "ENOENT") return [];
        throw new InputError(`--out ${dir}: cannot be read (${errnoOf(e)})`);
    }
    if (!stat.isDirectory())
        throw new InputError(`--out ${dir}: is a file, not a folder (give a new or empty folder, e.g. --out rendered/)`);
    const entries = fs.readdirSync(dir);
    if (entries.length === 0) return [];
    if (!entries.includes(OUT_MARKER)) {
        throw new InputError(
            `--out ${dir}: the folder is not empty and was not written by check (it has no ${OUT_MARKER}); ` +
                "give a new or empty folder, e.g. --out rendered/",
        );
    }
    const markerFile = path.join(dir, OUT_MARKER);
    let marker: Partial<Marker> | undefined;
    try {
        marker = JSON.parse(fs.readFileSync(markerFile, "utf8"));
    } catch {
        marker = undefined;
    }
    if (!marker || marker.writtenBy !== WRITTEN_BY || !Array.isArray(marker.files) || !marker.files.every(isOwnPath)) {
        throw new InputError(
            `--out ${dir}: ${OUT_MARKER} is not a list of files written by check (remove the folder, or give another one)`,
        );
    }
    return [...marker.files];
}

/** True when `file` resolves inside `dir` (no symbolic link leads elsewhere). */
function resolvesInside(dir: string, file: string): boolean {
    try {
        const parent = fs.realpathSync(path.dirname(file));
        const rel = path.relative(fs.realpathSync(dir), parent);
        return rel === "" || (!rel.startsWith("..") && !path.isAbsolute(rel));
    } catch {
        return false;
    }
}

/** Removes the files an earlier run listed, and the folders that this leaves empty. */
function removeOwned(dir: string, files: readonly string[]): void {
    for (const rel of files) {
        const full = path.join(dir, rel);
        let stat: fs.Stats;
        try {
            stat = fs.lstatSync(full);
        } catch {
            continue;
        }
        if (stat.isDirectory() || !resolvesInside(dir, full)) continue;
        fs.unlinkSync(full);
        for (let d = path.dirname(rel); d !== "."; d = path.dirname(d)) {
            const folder = path.join(dir, d);
            if (fs.readdirSync(folder).length > 0) break;
            fs.rmdirSync(folder);
        }
    }
}

/**
 * Writes every object into `dir`, replacing the files of an earlier run and nothing else; returns
 * the relative paths written, sorted. Bad folders are refused before anything is written.
 */
export function writeObjects(dir: string, objects: K8sObject[]): string[] {
    const previous = ownedFiles(dir);
    const byPath = new Map<string, K8sObject[]>();
    for (const o of objects) {
        const p = relativePath(o);
        byPath.set(p, [...(byPath.get(p) ?? []), o]);
    }
    const paths = [...byPath.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const mine = new Set(previous);
    for (const p of paths) {
        if (!mine.has(p) && fs.existsSync(path.join(dir, p))) {
            throw new InputError(`--out ${dir}: would overwrite ${p}, which check did not write (move it away, or give another folder)`);
        }
    }

    fs.mkdirSync(dir, { recursive: true });
    // The marker lists every file of ours at every moment, so an interrupted run is cleaned up by the next.
    fs.writeFileSync(path.join(dir, OUT_MARKER), markerText([...new Set([...previous, ...paths])]));
    removeOwned(dir, previous);
    for (const p of paths) {
        // Same kind and name in two API groups: one file, documents ordered by apiVersion.
        const docs = byPath.get(p)!.map(renderObject).sort().join("---\n");
        const full = path.join(dir, p);
        fs.mkdirSync(path.dirname(full), { recursive: true });
        fs.writeFileSync(full, docs);
    }
    fs.writeFileSync(path.join(dir, OUT_MARKER), markerText(paths));
    return paths;
}
