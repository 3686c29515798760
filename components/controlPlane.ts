import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { API_SERVICES, ApiServiceKind, sidecarEnv } from "./amalgam8";
import { ApiService, ApiServiceArgs } from "./apiService";
import { JWT_SECRET_REF, JwtAuth } from "./auth";
import {
    ApiServiceSettings,
    AuthMode,
    ConfigError,
    ControlPlaneSettings,
    PartialSettings,
    RedisSettings,
    ServiceType,
    StorageType,
    resolveSettings,
} from "./config";
import { PART_OF } from "./kube/labels";
import { Redis } from "./redis/redis";

/**
 * Every argument is optional and validated like the stack configuration (same rules, same
 * messages); nested settings are merged onto the defaults, so `controller: {replicas: 5}` keeps the
 * controller's other defaults.
 */
export interface ControlPlaneArgs {
    /** Namespace of every object. Plain: in-cluster URLs are built from it. Default `amalgam8`. */
    readonly namespace?: string;
    /** Create the namespace (true) or deploy into an existing one (false). Default true. */
    readonly createNamespace?: boolean;
    /** `redis` (HA-capable) or `memory` (one replica each, local development). Default `redis`. */
    readonly storage?: StorageType;
    /** How the controller and registry Services are exposed. Default `ClusterIP`. Validated when plain. */
    readonly serviceType?: pulumi.Input<ServiceType>;
    /** `jwt` turns on Amalgam8's JWT auth. Default `none`. */
    readonly auth?: AuthMode;
    /** HS256 secret for `jwt` (a secret). Generated when absent. */
    readonly jwtSecret?: pulumi.Input<string>;
    /** Spread replicas across zones as well as nodes. Default false. */
    readonly spreadAcrossZones?: boolean;
    /** Default: 3 replicas, `amalgam8/a8-controller:1.1.0`. */
    readonly controller?: PartialSettings<ApiServiceSettings>;
    /** Default: 3 replicas, `amalgam8/a8-registry:1.1.0`. */
    readonly registry?: PartialSettings<ApiServiceSettings>;
    /** Default: `mode: ha`, 3 nodes with a Sentinel each behind 3 HAProxy replicas. */
    readonly redis?: PartialSettings<RedisSettings>;
    /** Redis AUTH password (a secret). Generated when absent; required for `redis.mode: external`. */
    readonly redisPassword?: pulumi.Input<string>;
}

/**
 * The Amalgam8 control plane in high-availability mode: the controller (routing rules) and the
 * registry (service catalogue), both stateless behind load-balanced Services, and the Redis they
 * share.
 */
export class ControlPlane extends pulumi.ComponentResource {
    readonly namespace: pulumi.Output<string>;
    /** In-cluster URLs, e.g. `http://controller.<ns>.svc.cluster.local:6080`. */
    readonly controllerUrl: pulumi.Output<string>;
    readonly registryUrl: pulumi.Output<string>;
    /** Reachable from outside the cluster; undefined for ClusterIP Services. */
    readonly controllerEndpoint: pulumi.Output<string | undefined>;
    readonly registryEndpoint: pulumi.Output<string | undefined>;
    /** `host:port` of Redis as the services reach it; undefined with in-memory storage. */
    readonly redisAddress: pulumi.Output<string | undefined>;
    /** Redis AUTH password (secret); undefined with in-memory storage. */
    readonly redisPassword: pulumi.Output<string | undefined>;
    /** What a sidecar needs: `A8_CONTROLLER_URL`, `A8_REGISTRY_URL`. */
    readonly sidecarEnv: pulumi.Output<Record<string, string>>;
    /** A JWT with `namespace: admin` (secret); undefined unless auth is `jwt`. */
    readonly adminToken: pulumi.Output<string | undefined>;

    readonly controller: ApiService;
    readonly registry: ApiService;
    readonly redis?: Redis;

    constructor(name: string, args: ControlPlaneArgs = {}, opts?: pulumi.ComponentResourceOptions) {
        // Validated before anything is registered.
        const resolved = ControlPlane.resolveArgs(name, args);
        super("amalgam8:index:ControlPlane", name, {}, opts);
        const { namespace } = resolved;
        const childOpts = { parent: this };
        const namespaceObject = resolved.createNamespace
            ? new k8s.core.v1.Namespace(`${name}-namespace`, namespaceArgs(namespace), childOpts)
            : undefined;
        const inNamespace = { ...childOpts, dependsOn: namespaceObject ? [namespaceObject] : [] };

        if (resolved.storage === "redis") {
            const redisArgs = {
                namespace,
                instance: name,
                settings: resolved.redis,
                password: args.redisPassword,
                clientSelector: apiServicePods(name),
            };
            this.redis = new Redis(`${name}-redis`, redisArgs, inNamespace);
        }
        const jwtAuth =
            resolved.auth === "jwt"
                ? new JwtAuth(`${name}-auth`, { namespace, instance: name, secret: args.jwtSecret }, inNamespace)
                : undefined;

        const wiring: ApiServiceWiring = {
            namespace,
            instance: name,
            serviceType: args.serviceType,
            spreadAcrossZones: resolved.spreadAcrossZones,
            storage: this.redis?.binding ?? { kind: "memory" },
            storageEgress: this.redis?.clientEgress,
            auth: jwtAuth ? { mode: "jwt", secret: JWT_SECRET_REF } : { mode: "none" },
            // Pods start only once the Secrets they reference exist.
            dependsOn: [this.redis?.passwordSecret, jwtAuth?.secret].filter((s): s is k8s.core.v1.Secret => s !== undefined),
        };
        const apiService = (kind: ApiServiceKind) =>
            new ApiService(`${name}-${kind}`, { ...wiring, profile: API_SERVICES[kind], ...resolved[kind] }, inNamespace);
        this.controller = apiService("controller");
        this.registry = apiService("registry");

        this.namespace = pulumi.output(namespace);
        this.controllerUrl = this.controller.url;
        this.registryUrl = this.registry.url;
        this.controllerEndpoint = this.controller.endpoint;
        this.registryEndpoint = this.registry.endpoint;
        this.redisAddress = this.redis ? this.redis.address : pulumi.output(undefined);
        this.redisPassword = this.redis ? this.redis.password : pulumi.output(undefined);
        this.sidecarEnv = pulumi.all([this.controllerUrl, this.registryUrl]).apply(([c, r]) => sidecarEnv(c, r));
        this.adminToken = jwtAuth ? jwtAuth.adminToken : pulumi.output(undefined);

        this.registerOutputs({
            namespace: this.namespace,
            controllerUrl: this.controllerUrl,
            registryUrl: this.registryUrl,
            controllerEndpoint: this.controllerEndpoint,
            registryEndpoint: this.registryEndpoint,
            redisAddress: this.redisAddress,
            redisPassword: this.redisPassword,
            sidecarEnv: this.sidecarEnv,
            adminToken: this.adminToken,
        });
    }

    /** The arguments merged onto the defaults; a RunError naming every invalid argument (no stack trace). */
    static resolveArgs(name: string, args: ControlPlaneArgs): ControlPlaneSettings {
        const { jwtSecret, redisPassword, serviceType, ...rest } = args;
        // A value known only at deployment (an Output) is passed through unchecked.
        const known =
            pulumi.Output.isInstance(serviceType) || serviceType instanceof Promise ? undefined : (serviceType as ServiceType | undefined);
        try {
            return resolveSettings({ ...rest, serviceType: known }, { jwtSecret, redisPassword });
        } catch (e) {
            if (e instanceof ConfigError)
                throw new pulumi.RunError(`invalid arguments of ControlPlane "${name}":\n  ${e.problems.join("\n  ")}`);
            throw e;
        }
    }
}

/** What both API services get from the control plane; their own settings complete ApiServiceArgs. */
type ApiServiceWiring = Omit<ApiServiceArgs, keyof ApiServiceSettings | "profile">;

/** A namespace for the control plane alone. */
function namespaceArgs(namespace: string): k8s.core.v1.NamespaceArgs {
    return {
        metadata: {
            name: namespace,
            labels: {
                "app.kubernetes.io/part-of": PART_OF,
                // Admission enforces what the pods already declare.
                "pod-security.kubernetes.io/enforce": "restricted",
            },
        },
    };
}

/** The control plane's own API pods: the only clients allowed to reach Redis. */
function apiServicePods(instance: string): k8s.types.input.meta.v1.LabelSelector {
    return {
        matchLabels: { "app.kubernetes.io/instance": instance },
        matchExpressions: [{ key: "app.kubernetes.io/name", operator: "In", values: Object.keys(API_SERVICES) }],
    };
}
