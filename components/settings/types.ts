/**
 * The shape of the typed settings of one environment. Their rules, defaults and descriptions are
 * in schema.ts, which the compiler checks against these interfaces.
 */

export const STORAGE_TYPES = ["redis", "memory"] as const;
export const SERVICE_TYPES = ["ClusterIP", "NodePort", "LoadBalancer"] as const;
export const AUTH_MODES = ["none", "jwt"] as const;
export const REDIS_MODES = ["standalone", "ha", "external"] as const;
/** The levels both services accept; anything else is fatal at their start. */
export const LOG_LEVELS = ["debug", "info", "warn", "error", "fatal", "panic"] as const;

export type StorageType = (typeof STORAGE_TYPES)[number];
export type ServiceType = (typeof SERVICE_TYPES)[number];
export type AuthMode = (typeof AUTH_MODES)[number];
export type RedisMode = (typeof REDIS_MODES)[number];
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface ResourceSettings {
    readonly requests: { readonly cpu: string; readonly memory: string };
    readonly limits: { readonly cpu?: string; readonly memory: string };
}

export interface AutoscalingSettings {
    readonly minReplicas: number;
    readonly maxReplicas: number;
    readonly targetCpuUtilization: number;
}

/** Settings shared by the two Amalgam8 services (controller and registry). */
export interface ApiServiceSettings {
    readonly replicas: number;
    readonly port: number;
    readonly nodePort: number;
    readonly image: string;
    readonly logLevel: LogLevel;
    readonly resources: ResourceSettings;
    readonly autoscaling?: AutoscalingSettings;
}

export interface SentinelSettings {
    readonly downAfterMilliseconds: number;
    readonly failoverTimeout: number;
    /** Of the Sentinel container beside each Redis node. */
    readonly resources: ResourceSettings;
}

/** The HAProxy Deployment in front of the `ha` Redis nodes. */
export interface HaproxySettings {
    readonly replicas: number;
    readonly image: string;
    readonly resources: ResourceSettings;
}

export interface RedisSettings {
    readonly mode: RedisMode;
    readonly image: string;
    readonly storageSize: string;
    readonly storageClass?: string;
    readonly resources: ResourceSettings;
    /** `ha` only: Redis nodes, each with a Sentinel. */
    readonly nodes: number;
    readonly sentinel: SentinelSettings;
    readonly haproxy: HaproxySettings;
    /** `external` only: `host:port` of a managed Redis primary endpoint. */
    readonly address?: string;
}

export interface ControlPlaneSettings {
    readonly namespace: string;
    readonly createNamespace: boolean;
    readonly storage: StorageType;
    readonly serviceType: ServiceType;
    readonly auth: AuthMode;
    readonly spreadAcrossZones: boolean;
    readonly controller: ApiServiceSettings;
    readonly registry: ApiServiceSettings;
    readonly redis: RedisSettings;
}

/**
 * What a library user passes for a group of settings: any subset, at any depth; what is left out
 * takes its default.
 */
export type PartialSettings<T> = { readonly [K in keyof T]?: T[K] extends object ? PartialSettings<T[K]> : T[K] };

/** What a library user passes: every setting optional, nested ones partially. */
export type ControlPlaneSettingsInput = PartialSettings<ControlPlaneSettings>;
