/**
 * The resources `check` hands to the policy pack, from either source: YAML manifests (synthetic
 * URNs, as if a program had registered them) or a program run under the mock monitor.
 */
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { PROJECT } from "../../components/config";
import { InputError } from "../errors";
import { K8sObject, asK8sObject, refOf, typeToken } from "../../policy/lib/k8s";

export interface CheckResource {
    urn: string;
    type: string;
    /** Pulumi resource name. */
    name: string;
    /** Inputs as the pack sees them. */
    props: Record<string, any>;
    custom: boolean;
    parent?: string;
    /** The Kubernetes object (apiVersion/kind filled in, secrets unwrapped), if it is one. */
    object?: K8sObject;
    /** `Kind/metadata.name` of the object. */
    ref?: string;
}

const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const SECRET_VALUE = "1b47061264138c4ac30d75fd1eb44270";

/** Replaces Pulumi secret envelopes with their plain values (the pack sees them unwrapped too). */
export function unwrapSecrets(v: unknown): unknown {
    if (Array.isArray(v)) {
        return v.map(unwrapSecrets);
    }
    if (v && typeof v === "object") {
        const o = v as Record<string, unknown>;
        if (o[SECRET_SIG] === SECRET_VALUE && "value" in o) {
            return unwrapSecrets(o.value);
        }
        const out: Record<string, unknown> = {};
        for (const [k, x] of Object.entries(o)) {
            if (x !== undefined) out[k] = unwrapSecrets(x);
        }
        return out;
    }
    return v;
}

/** The Kubernetes objects among a program's resources, secrets unwrapped, as the cluster would get them. */
export function kubernetesObjects(resources: readonly { type: string; inputs: Record<string, any> }[]): K8sObject[] {
    return resources
        .map((r) => asK8sObject(r.type, r.inputs))
        .filter((o): o is K8sObject => o !== undefined)
        .map((o) => unwrapSecrets(o) as K8sObject);
}

export function withObject(r: Omit<CheckResource, "object" | "ref">): CheckResource {
    const obj = asK8sObject(r.type, r.props);
    if (!obj) {
        return r;
    }
    const object = unwrapSecrets(obj) as K8sObject;
    return { ...r, object, ref: refOf(object) };
}

function listYamlFiles(p: string): string[] {
    let st: fs.Stats;
    try {
        st = fs.statSync(p);
    } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        throw new InputError(`cannot read ${p}: ${code === "ENOENT" ? "no such file or directory" : (code ?? String(e))}`);
    }
    if (st.isFile()) {
        return [p];
    }
    if (!st.isDirectory()) {
        throw new InputError(`${p} is neither a file nor a directory`);
    }
    const out: string[] = [];
    const walk = (dir: string) => {
        const entries = fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
        for (const e of entries) {
            const full = path.join(dir, e.name);
            if (e.isDirectory()) walk(full);
            else if (e.isFile() && /\.ya?ml$/i.test(e.name)) out.push(full);
        }
    };
    walk(p);
    if (out.length === 0) {
        throw new InputError(`no .yaml or .yml files under ${p}`);
    }
    return out;
}

function isK8sObject(doc: unknown): doc is K8sObject {
    const d = doc as K8sObject;
    return (
        !!d &&
        typeof d === "object" &&
        !Array.isArray(d) &&
        typeof d.apiVersion === "string" &&
        d.apiVersion !== "" &&
        typeof d.kind === "string" &&
        d.kind !== "" &&
        typeof d.metadata?.name === "string" &&
        d.metadata.name !== ""
    );
}

/** `--manifests -`: the documents come from standard input. */
export const STDIN = "-";

function display(file: string): string {
    return file === STDIN ? "standard input" : file;
}

/** The text of a manifest file; a binary or non-UTF-8 file is bad input, in one short line. */
function readText(file: string): string {
    let bytes: Buffer;
    try {
        bytes = file === STDIN ? fs.readFileSync(0) : fs.readFileSync(file);
    } catch (e) {
        throw new InputError(`cannot read ${display(file)}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    }
    let text: string;
    try {
        text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    } catch {
        throw new InputError(`${display(file)} is not UTF-8 text (a binary file or another encoding): give YAML manifests`);
    }
    if (text.includes("\0")) {
        throw new InputError(`${display(file)} is a binary file (it contains NUL bytes): give YAML manifests`);
    }
    return text;
}

/**
 * Reads manifests (`-` for standard input); every document must be a Kubernetes object (a `List`
 * is expanded) and there must be at least one.
 */
export function loadManifests(p: string): CheckResource[] {
    const out: CheckResource[] = [];
    const seen = new Map<string, string>();
    const files = p === STDIN ? [STDIN] : listYamlFiles(p);
    for (const file of files) {
        const text = readText(file);
        const docs = YAML.parseAllDocuments(text, { prettyErrors: false });
        const list = Array.isArray(docs) ? docs : [docs];
        list.forEach((doc, i) => {
            const err = doc.errors[0];
            if (err) {
                const line = err.linePos?.[0]?.line;
                throw new InputError(`invalid YAML in ${display(file)}${line ? ` line ${line}` : ""}: ${err.message.split("\n")[0]}`);
            }
            let value: any;
            try {
                value = doc.toJS({ maxAliasCount: 100 });
            } catch (e) {
                throw new InputError(`invalid YAML in ${display(file)} document ${i + 1}: ${(e as Error).message.split("\n")[0]}`);
            }
            if (value === null || value === undefined) {
                return; // an empty document (e.g. a trailing ---)
            }
            const isList = value && typeof value === "object" && value.kind === "List" && Array.isArray(value.items);
            const items: unknown[] = isList ? value.items : [value];
            items.forEach((obj, j) => {
                const where = `${display(file)} document ${i + 1}${isList ? ` item ${j + 1}` : ""}`;
                if (!isK8sObject(obj)) {
                    throw new InputError(`${where} is not a Kubernetes object (it needs apiVersion, kind and metadata.name)`);
                }
                const type = typeToken(obj.apiVersion, obj.kind);
                const ns = typeof obj.metadata.namespace === "string" ? obj.metadata.namespace : "";
                const name = ns ? `${ns}/${obj.metadata.name}` : obj.metadata.name;
                const key = `${type}::${name}`;
                const first = seen.get(key);
                if (first) {
                    throw new InputError(`${obj.kind} ${name} is defined twice: ${first} and ${where}`);
                }
                seen.set(key, where);
                out.push(withObject({ urn: `urn:pulumi:manifests::${PROJECT}::${type}::${name}`, type, name, props: obj, custom: true }));
            });
        });
    }
    if (out.length === 0) {
        throw new InputError(`no Kubernetes objects in ${display(p)}`);
    }
    return out;
}
