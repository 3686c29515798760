import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as YAML from "yaml";
import { ConfigError, PROJECT, parseSettings, stackFileProblems } from "./components/config";
import { ControlPlane } from "./components/controlPlane";

/**
 * Keys the CLI does not hand to the program (a key outside `config:`) would be silently ignored:
 * read the stack file itself when it is in the project folder.
 */
function stackFileCheck(): string[] {
    const root = pulumi.runtime.getRootDirectory();
    const file = ["yaml", "yml"]
        .map((ext) => path.join(root, `Pulumi.${pulumi.getStack()}.${ext}`))
        .find((f) => root !== "" && fs.existsSync(f));
    if (!file) return [];
    let doc: unknown;
    try {
        doc = YAML.parse(fs.readFileSync(file, "utf8"));
    } catch {
        return []; // the CLI has read it already, and reports its syntax errors itself
    }
    return stackFileProblems(doc).map((p) => `${path.basename(file)}: ${p}`);
}

/** Validates the whole stack configuration before anything is registered. */
function loadSettings() {
    const values = pulumi.runtime.allConfig();
    // The SDK marks which keys the stack file encrypts; without that answer, trust the stack file.
    const isSecret: ((key: string) => boolean) | undefined = (pulumi.runtime as any).isConfigSecret;
    const secretKeys = Object.keys(values).filter((k) => (isSecret ? isSecret(k) : true));
    const problems = stackFileCheck();
    try {
        const settings = parseSettings({ values, secretKeys });
        if (problems.length === 0) return settings;
    } catch (e) {
        if (!(e instanceof ConfigError)) throw e;
        problems.push(...e.problems.filter((p) => !problems.some((q) => q.endsWith(`: ${p}`))));
    }
    // One clear message per problem, no stack trace, nothing created.
    throw new pulumi.RunError(`invalid stack configuration:\n  ${problems.join("\n  ")}`);
}

const { redis, ...settings } = loadSettings();
const config = new pulumi.Config(PROJECT);

const controlPlane = new ControlPlane("a8", {
    ...settings,
    // The component refuses Redis settings that in-memory storage would ignore.
    ...(settings.storage === "redis" ? { redis } : {}),
    jwtSecret: config.getSecret("jwtSecret"),
    redisPassword: config.getSecret("redisPassword"),
});

export const namespace = controlPlane.namespace;
export const controllerUrl = controlPlane.controllerUrl;
export const registryUrl = controlPlane.registryUrl;
export const controllerEndpoint = controlPlane.controllerEndpoint;
export const registryEndpoint = controlPlane.registryEndpoint;
export const redisAddress = controlPlane.redisAddress;
export const sidecarEnv = controlPlane.sidecarEnv;
export const redisPassword = controlPlane.redisPassword;
export const adminToken = controlPlane.adminToken;
