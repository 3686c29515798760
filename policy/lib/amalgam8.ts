/**
 * Amalgam8 control-plane specifics: which pods are the controller and the registry, and how they
 * are told where their state lives (env `A8_X` or flag `--x`).
 */
import { imageName } from "./image";
import { Container, PodTemplate, commandWords, containersOf } from "./k8s";

export type A8Role = "controller" | "registry";

export interface A8StorageSettings {
    /** Env var naming the storage type and its default when unset. */
    typeVar: string;
    defaultType: string;
    memoryValue: string;
    addressVar: string;
    passwordVar: string;
}

export const A8_STORAGE: Record<A8Role, A8StorageSettings> = {
    controller: {
        typeVar: "A8_DATABASE_TYPE",
        defaultType: "memory",
        memoryValue: "memory",
        addressVar: "A8_DATABASE_HOST",
        passwordVar: "A8_DATABASE_PASSWORD",
    },
    registry: {
        typeVar: "A8_STORE",
        defaultType: "inmem",
        memoryValue: "inmem",
        addressVar: "A8_STORE_ADDRESS",
        passwordVar: "A8_STORE_PASSWORD",
    },
};

export function containerA8Role(c: Container): A8Role | undefined {
    const n = imageName(c.image);
    if (n === "a8-controller") return "controller";
    if (n === "a8-registry") return "registry";
    return undefined;
}

/** By image first; by the recommended labels when the image is a mirror with another name. */
export function a8RoleOf(pod: PodTemplate): A8Role | undefined {
    for (const c of containersOf(pod.spec)) {
        const r = containerA8Role(c);
        if (r) return r;
    }
    const name = pod.labels["app.kubernetes.io/name"];
    if (pod.labels["app.kubernetes.io/part-of"] === "amalgam8" && (name === "controller" || name === "registry")) {
        return name;
    }
    return undefined;
}

export function a8Container(pod: PodTemplate, role: A8Role): Container | undefined {
    const cs = containersOf(pod.spec);
    return cs.find((c) => containerA8Role(c) === role) ?? cs[0];
}

/** `--database_type redis`, `--database-type=redis`: the flag form of an `A8_X` setting. */
export function flagValue(c: Container, envName: string): string | undefined {
    const base = envName.replace(/^A8_/, "").toLowerCase();
    const names = new Set([base, base.replace(/_/g, "-")]);
    const args = commandWords(c);
    let found: string | undefined;
    for (let i = 0; i < args.length; i++) {
        const m = /^--?([a-z_-]+)(?:=(.*))?$/i.exec(args[i]);
        if (!m || !names.has(m[1].toLowerCase())) continue;
        found = m[2] !== undefined ? m[2] : args[i + 1];
    }
    return found;
}

/** A host or port given as a Kubernetes env reference, `$(REDIS_SERVICE_HOST)`. */
const ENV_REF = String.raw`\$\([A-Z0-9_]+\)`;
const CONTROLLER_ADDRESS = new RegExp(String.raw`^rediss?://(?:[^@/]*@)?(${ENV_REF}|[^:/]+)(?::(${ENV_REF}|\d+))?(/\d*)?$`);
const REGISTRY_ADDRESS = new RegExp(String.raw`^(${ENV_REF}|[^:/]+)(?::(${ENV_REF}|\d+))?$`);

/**
 * The Redis endpoint as each service reads it: the controller a `redis://host:port` URL, the
 * registry a bare `host:port` it dials directly. Undefined when the service would not accept it.
 */
export function parseRedisAddress(role: A8Role, value: string): { host: string; port?: string } | undefined {
    const m = (role === "controller" ? CONTROLLER_ADDRESS : REGISTRY_ADDRESS).exec(value.trim());
    return m ? { host: m[1], port: m[2] } : undefined;
}
