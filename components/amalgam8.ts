/**
 * The runtime contract of the two Amalgam8 services: env var names and values, the port they
 * listen on and their health endpoints. A wrong name here deploys fine and fails at run time, so
 * it lives in one pure module that tests pin down.
 */
import * as k8s from "@pulumi/kubernetes";
import { LogLevel } from "./config";

type EnvVar = k8s.types.input.core.v1.EnvVar;
type Probe = k8s.types.input.core.v1.Probe;

export type ApiServiceKind = "controller" | "registry";

/** Both binaries listen on 8080 (A8_API_PORT's default); the Service maps its own port to it. */
export const CONTAINER_PORT = 8080;
export const CONTAINER_PORT_NAME = "http";

export interface SecretKeyRef {
    readonly name: string;
    readonly key: string;
}

/** Where the service keeps its state. */
export type StorageBinding =
    | { readonly kind: "memory" }
    | {
          readonly kind: "redis";
          readonly host: string;
          readonly port: number;
          readonly password: SecretKeyRef;
          /** Replicas a rule write must reach before the controller acknowledges it (0: none). */
          readonly writeReplicas: number;
      };

/** How long the controller waits for `writeReplicas` before it fails the write (5xx). */
export const WRITE_REPLICA_TIMEOUT_MS = 1000;

export type AuthBinding = { readonly mode: "none" } | { readonly mode: "jwt"; readonly secret: SecretKeyRef };

export interface ApiServiceProfile {
    readonly kind: ApiServiceKind;
    /** `app.kubernetes.io/component` */
    readonly component: string;
    readonly description: string;
    readonly defaultPort: number;
    /** Where the `storage` setting goes. */
    storageEnv(storage: StorageBinding): EnvVar[];
    readonly readinessProbe: Probe;
    readonly livenessProbe: Probe;
}

function secretEnv(name: string, ref: SecretKeyRef): EnvVar {
    return { name, valueFrom: { secretKeyRef: { name: ref.name, key: ref.key } } };
}

const readinessTiming = { periodSeconds: 5, timeoutSeconds: 2, failureThreshold: 3, successThreshold: 1 };
// Liveness is slower and more tolerant than readiness: a restart is the last resort.
const livenessTiming = { initialDelaySeconds: 10, periodSeconds: 10, timeoutSeconds: 2, failureThreshold: 6 };

export const CONTROLLER: ApiServiceProfile = {
    kind: "controller",
    component: "routing-rules",
    description: "Amalgam8 controller: stores routing rules",
    defaultPort: 6080,
    storageEnv(storage) {
        if (storage.kind === "memory") return [{ name: "A8_DATABASE_TYPE", value: "memory" }];
        return [
            { name: "A8_DATABASE_TYPE", value: "redis" },
            // The controller wants a URL with the redis:// scheme.
            { name: "A8_DATABASE_HOST", value: `redis://${storage.host}:${storage.port}` },
            secretEnv("A8_DATABASE_PASSWORD", storage.password),
            // Read by the patched image only (images/amalgam8, patch 0006); upstream ignores them.
            ...(storage.writeReplicas > 0
                ? [
                      { name: "A8_DATABASE_WAIT_REPLICAS", value: String(storage.writeReplicas) },
                      { name: "A8_DATABASE_WAIT_TIMEOUT_MS", value: String(WRITE_REPLICA_TIMEOUT_MS) },
                  ]
                : []),
        ];
    },
    // GET /health answers 503 during start-up, then 200.
    readinessProbe: { httpGet: { path: "/health", port: CONTAINER_PORT_NAME }, ...readinessTiming },
    // /health is the only endpoint: liveness only checks that the process still accepts connections,
    // so that it never duplicates readiness.
    livenessProbe: { tcpSocket: { port: CONTAINER_PORT_NAME }, ...livenessTiming },
};

export const REGISTRY: ApiServiceProfile = {
    kind: "registry",
    component: "service-catalogue",
    description: "Amalgam8 registry: the service catalogue",
    defaultPort: 5080,
    storageEnv(storage) {
        if (storage.kind === "memory") return [{ name: "A8_STORE", value: "inmem" }];
        return [
            { name: "A8_STORE", value: "redis" },
            // The registry wants host:port, without a scheme.
            { name: "A8_STORE_ADDRESS", value: `${storage.host}:${storage.port}` },
            secretEnv("A8_STORE_PASSWORD", storage.password),
        ];
    },
    readinessProbe: { httpGet: { path: "/uptime", port: CONTAINER_PORT_NAME }, ...readinessTiming },
    livenessProbe: { httpGet: { path: "/", port: CONTAINER_PORT_NAME }, ...livenessTiming },
};

export const API_SERVICES: Record<ApiServiceKind, ApiServiceProfile> = { controller: CONTROLLER, registry: REGISTRY };

/** The complete environment of one service container. */
export function apiServiceEnv(profile: ApiServiceProfile, logLevel: LogLevel, storage: StorageBinding, auth: AuthBinding): EnvVar[] {
    return [
        { name: "A8_LOG_LEVEL", value: logLevel },
        ...profile.storageEnv(storage),
        ...(auth.mode === "jwt" ? [{ name: "A8_AUTH_MODE", value: "jwt" }, secretEnv("A8_JWT_SECRET", auth.secret)] : []),
    ];
}

/** In-cluster DNS name of a Service. */
export function serviceFqdn(service: string, namespace: string): string {
    return `${service}.${namespace}.svc.cluster.local`;
}

/** What a sidecar needs to find the control plane (`A8_CONTROLLER_URL`, `A8_REGISTRY_URL`). */
export function sidecarEnv(controllerUrl: string, registryUrl: string): Record<string, string> {
    return { A8_CONTROLLER_URL: controllerUrl, A8_REGISTRY_URL: registryUrl };
}
