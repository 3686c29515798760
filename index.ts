import * as pulumi from "@pulumi/pulumi";
import { ConfigError, PROJECT, parseSettings } from "./components/config";
import { ControlPlane } from "./components/controlPlane";

/** Validates the whole stack configuration before anything is registered. */
function loadSettings() {
    const values = pulumi.runtime.allConfig();
    // The SDK marks which keys the stack file encrypts; without that answer, trust the stack file.
    const isSecret: ((key: string) => boolean) | undefined = (pulumi.runtime as any).isConfigSecret;
    const secretKeys = Object.keys(values).filter((k) => (isSecret ? isSecret(k) : true));
    try {
        return parseSettings({ values, secretKeys });
    } catch (e) {
        // One clear message per problem, no stack trace, nothing created.
        if (e instanceof ConfigError) throw new pulumi.RunError(`invalid stack configuration:\n  ${e.problems.join("\n  ")}`);
        throw e;
    }
}

const settings = loadSettings();
const config = new pulumi.Config(PROJECT);

const controlPlane = new ControlPlane("a8", {
    ...settings,
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
