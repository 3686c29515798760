/**
 * Reads a stack's configuration the way the Pulumi CLI hands it to the program: project-level
 * defaults from `Pulumi.yaml`, overridden by `Pulumi.<stack>.yaml`. Encrypted (`secure:`) values
 * cannot be decrypted without the CLI; they become a placeholder that is still marked secret.
 * Every key must be one something reads (the project's, `kubernetes:`, `pulumi:`) and sit under
 * `config:`; anything else is bad input naming the file and the key.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { foreignKeyProblem, stackFileProblems } from "../../components/config";
import { InputError } from "../errors";

export interface StackConfig {
    readonly project: string;
    readonly stack: string;
    /** The folder of Pulumi.yaml, as the CLI tells the program; absent when built by hand. */
    readonly projectDir?: string;
    /** Full keys (`project:key`) to string values, JSON for structured ones. */
    readonly config: Record<string, string>;
    readonly secretKeys: string[];
}

/** Stands in for an encrypted value: letters and digits, long enough to pass validation. */
export const SECRET_PLACEHOLDER = "EncryptedValueNotAvailableOffline0";

function readYaml(file: string): unknown {
    let text: string;
    try {
        text = fs.readFileSync(file, "utf8");
    } catch (e) {
        throw new InputError(`${path.basename(file)}: cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
    }
    const doc = YAML.parseDocument(text);
    if (doc.errors.length > 0) {
        throw new InputError(`${path.basename(file)}: invalid YAML (${doc.errors[0].message.split("\n")[0]})`);
    }
    return doc.toJS();
}

function asString(value: unknown): string {
    return typeof value === "string" ? value : JSON.stringify(value);
}

function isObject(value: unknown): value is Record<string, unknown> {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}

const stackOfFile = (file: string): string | undefined => /^Pulumi\.([^.]+)\.ya?ml$/.exec(file)?.[1];

/** The stacks that have a `Pulumi.<stack>.yaml` in the project folder. */
export function listStacks(projectDir: string): string[] {
    return fs
        .readdirSync(projectDir)
        .map(stackOfFile)
        .filter((s): s is string => s !== undefined)
        .sort();
}

/**
 * The stacks the project ships: stack files that git tracks. A user's own stack file (untracked)
 * is a stack like any other for `check` and the CLI, but pins and workflows describe only these.
 * Outside a git checkout (an unpacked release), every stack file counts.
 */
export function shippedStacks(projectDir: string): string[] {
    const tracked = spawnSync("git", ["ls-files", "--", "Pulumi.*.yaml", "Pulumi.*.yml"], { cwd: projectDir, encoding: "utf8" });
    if (tracked.status !== 0) return listStacks(projectDir);
    const stacks = new Set(tracked.stdout.split("\n").map(stackOfFile));
    return listStacks(projectDir).filter((s) => stacks.has(s));
}

export function loadStackConfig(projectDir: string, stack: string): StackConfig {
    const project = readYaml(path.join(projectDir, "Pulumi.yaml"));
    if (!isObject(project) || typeof project.name !== "string") {
        throw new InputError("Pulumi.yaml: has no project name");
    }
    const name = project.name;
    const stackFile = ["yaml", "yml"].map((ext) => path.join(projectDir, `Pulumi.${stack}.${ext}`)).find((f) => fs.existsSync(f));
    if (!/^[A-Za-z0-9_.-]+$/.test(stack) || !stackFile) {
        const known = listStacks(projectDir);
        throw new InputError(`unknown stack "${stack}" (no Pulumi.${stack}.yaml; stacks: ${known.join(", ") || "none"})`);
    }

    const config: Record<string, string> = {};
    const secretKeys: string[] = [];
    const fullKey = (key: string) => (key.includes(":") ? key : `${name}:${key}`);

    // Project-level declarations: `key: {type, default, description}` or a bare default value.
    const declared = isObject(project.config) ? project.config : {};
    const projectProblems = Object.keys(declared)
        .map((key) => foreignKeyProblem(fullKey(key), name))
        .filter((p): p is string => p !== undefined);
    if (projectProblems.length > 0) throw new InputError(projectProblems.map((p) => `Pulumi.yaml: ${p}`).join("\n"));
    for (const [key, decl] of Object.entries(declared)) {
        const value = isObject(decl) && ("default" in decl || "type" in decl || "value" in decl) ? (decl.value ?? decl.default) : decl;
        if (value !== undefined && value !== null) config[fullKey(key)] = asString(value);
    }

    const stackDoc = readYaml(stackFile);
    const problems = stackFileProblems(stackDoc, name);
    if (problems.length > 0) throw new InputError(problems.map((p) => `${path.basename(stackFile)}: ${p}`).join("\n"));
    const stackConfig = isObject(stackDoc) && isObject(stackDoc.config) ? stackDoc.config : {};
    for (const [k, value] of Object.entries(stackConfig)) {
        if (isObject(value) && typeof value.secure === "string") {
            config[k] = SECRET_PLACEHOLDER;
            secretKeys.push(k);
        } else if (value !== null && value !== undefined) {
            config[k] = asString(value);
        }
    }
    return { project: name, stack, projectDir, config, secretKeys };
}
