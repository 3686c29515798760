/**
 * Pod pieces shared by the standalone and HA Redis shapes: the volumes the generated scripts
 * expect, the Redis container, and the persistent volume claim. Pure.
 */
import { createHash } from "crypto";
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { SecretKeyRef } from "../amalgam8";
import { RedisSettings } from "../config";
import { resourceRequirements, restrictedContainerSecurity } from "../kube/pod";
import { KUBERNETES_PATHS } from "./haConfig";

type Container = k8s.types.input.core.v1.Container;
type Volume = k8s.types.input.core.v1.Volume;
type VolumeMount = k8s.types.input.core.v1.VolumeMount;

/** The `redis` user of the official image; it owns /data. */
export const REDIS_UID = 999;
export const DATA_VOLUME = "data";

const PASSWORD_DIR = KUBERNETES_PATHS.passwordFile.slice(0, KUBERNETES_PATHS.passwordFile.lastIndexOf("/"));
const PASSWORD_FILE_NAME = KUBERNETES_PATHS.passwordFile.slice(PASSWORD_DIR.length + 1);

/** Rendered files (read-only), the password file (a Secret), and a writable /tmp. */
export function redisVolumes(configMapName: pulumi.Input<string>, password: SecretKeyRef): Volume[] {
    return [
        { name: "config", configMap: { name: configMapName, defaultMode: 0o555 } },
        {
            name: "auth",
            // Readable by the pod's group only: fsGroup makes it the redis group.
            secret: { secretName: password.name, items: [{ key: password.key, path: PASSWORD_FILE_NAME }], defaultMode: 0o440 },
        },
        { name: "tmp", emptyDir: { medium: "Memory", sizeLimit: "16Mi" } },
    ];
}

export function redisVolumeMounts(): VolumeMount[] {
    return [
        { name: "config", mountPath: KUBERNETES_PATHS.templateDir, readOnly: true },
        { name: "auth", mountPath: PASSWORD_DIR, readOnly: true },
        // Data (AOF) and the runtime config files that Redis and Sentinel rewrite.
        { name: DATA_VOLUME, mountPath: KUBERNETES_PATHS.dataDir },
        { name: "tmp", mountPath: "/tmp" },
    ];
}

/** A probe command that authenticates with the mounted password, never with a literal. */
export function redisCliProbe(port: number): string[] {
    return ["sh", "-c", `REDISCLI_AUTH="$(cat ${KUBERNETES_PATHS.passwordFile})" redis-cli -p ${port} ping | grep -q PONG`];
}

export interface RedisContainerOptions {
    readonly name: string;
    /** The generated script that decides the role and execs the server. */
    readonly script: string;
    readonly port: number;
    readonly portName: string;
    readonly settings: RedisSettings;
    readonly preStop?: string;
}

export function redisContainer(o: RedisContainerOptions): Container {
    return {
        name: o.name,
        image: o.settings.image,
        imagePullPolicy: "IfNotPresent",
        command: ["sh", `${KUBERNETES_PATHS.templateDir}/${o.script}`],
        ports: [{ name: o.portName, containerPort: o.port, protocol: "TCP" }],
        readinessProbe: { exec: { command: redisCliProbe(o.port) }, periodSeconds: 5, timeoutSeconds: 3, failureThreshold: 3 },
        // A hung server still accepts TCP connections slowly; liveness only restarts a dead one.
        livenessProbe: {
            tcpSocket: { port: o.portName },
            initialDelaySeconds: 15,
            periodSeconds: 10,
            timeoutSeconds: 3,
            failureThreshold: 6,
        },
        resources: resourceRequirements(o.settings.resources),
        securityContext: restrictedContainerSecurity(),
        volumeMounts: redisVolumeMounts(),
        ...(o.preStop ? { lifecycle: { preStop: { exec: { command: ["sh", `${KUBERNETES_PATHS.templateDir}/${o.preStop}`] } } } } : {}),
    };
}

export function dataVolumeClaim(settings: RedisSettings): k8s.types.input.core.v1.PersistentVolumeClaim {
    return {
        metadata: { name: DATA_VOLUME },
        spec: {
            accessModes: ["ReadWriteOnce"],
            ...(settings.storageClass ? { storageClassName: settings.storageClass } : {}),
            resources: { requests: { storage: settings.storageSize } },
        },
    };
}

/**
 * The name of the ConfigMap that holds `files`: `base` and a hash of their content, as kustomize's
 * generator names them. An edit then makes a new ConfigMap that the engine creates before deleting
 * the old one, and the pods that mount it roll. Under a fixed name the provider, which replaces a
 * ConfigMap on any data change, must delete it first, and the engine then replaces every workload
 * that mounts it, the Redis StatefulSet included.
 */
export function contentAddressedName(base: string, files: Record<string, string>): string {
    const hash = createHash("sha256");
    for (const key of Object.keys(files).sort()) hash.update(key).update("\0").update(files[key]).update("\0");
    return `${base}-${hash.digest("hex").slice(0, 10)}`;
}
