import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { API_SERVICES, AuthBinding, StorageBinding, sidecarEnv } from "./amalgam8";
import { ApiService } from "./apiService";
import { JWT_SECRET_REF, JwtAuth } from "./auth";
import { ApiServiceSettings, AuthMode, DEFAULTS, RedisSettings, ServiceType, StorageType } from "./config";
import { PART_OF } from "./kube/labels";
import { Redis } from "./redis/redis";

export interface ControlPlaneArgs {
    /** Namespace of every object. Plain: in-cluster URLs are built from it. Default `amalgam8`. */
    readonly namespace?: string;
    /** Create the namespace (true) or deploy into an existing one (false). Default true. */
    readonly createNamespace?: boolean;
    /** `redis` (HA-capable) or `memory` (one replica each, local development). Default `redis`. */
    readonly storage?: StorageType;
    /** How the controller and registry Services are exposed. Default `ClusterIP`. */
    readonly serviceType?: pulumi.Input<ServiceType>;
    /** `jwt` turns on Amalgam8's JWT auth. Default `none`. */
    readonly auth?: AuthMode;
    /** HS256 secret for `jwt` (a secret). Generated when absent. */
    readonly jwtSecret?: pulumi.Input<string>;
    /** Spread replicas across zones as well as nodes. Default false. */
    readonly spreadAcrossZones?: boolean;
    readonly controller?: ApiServiceSettings;
    readonly registry?: ApiServiceSettings;
    readonly redis?: RedisSettings;
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
        super("amalgam8:index:ControlPlane", name, {}, opts);
        const namespace = args.namespace ?? DEFAULTS.namespace;
        const storage = args.storage ?? DEFAULTS.storage;
        const childOpts: pulumi.CustomResourceOptions = { parent: this };

        const dependsOn: pulumi.Resource[] = [];
        if (args.createNamespace ?? DEFAULTS.createNamespace) {
            dependsOn.push(
                new k8s.core.v1.Namespace(
                    `${name}-namespace`,
                    {
                        metadata: {
                            name: namespace,
                            labels: {
                                "app.kubernetes.io/part-of": PART_OF,
                                // Admission enforces what the pods already declare.
                                "pod-security.kubernetes.io/enforce": "restricted",
                            },
                        },
                    },
                    childOpts,
                ),
            );
        }
        const inNamespace = { ...childOpts, dependsOn };

        // Only the control plane's own pods may reach Redis.
        const clientSelector = {
            matchLabels: { "app.kubernetes.io/instance": name },
            matchExpressions: [{ key: "app.kubernetes.io/name", operator: "In", values: Object.keys(API_SERVICES) }],
        };
        let storageBinding: StorageBinding = { kind: "memory" };
        if (storage === "redis") {
            this.redis = new Redis(
                `${name}-redis`,
                {
                    namespace,
                    instance: name,
                    settings: args.redis ?? DEFAULTS.redis,
                    password: args.redisPassword,
                    clientSelector,
                },
                inNamespace,
            );
            storageBinding = this.redis.binding;
        }

        let authBinding: AuthBinding = { mode: "none" };
        let jwtAuth: JwtAuth | undefined;
        if ((args.auth ?? DEFAULTS.auth) === "jwt") {
            jwtAuth = new JwtAuth(`${name}-auth`, { namespace, instance: name, secret: args.jwtSecret }, inNamespace);
            authBinding = { mode: "jwt", secret: JWT_SECRET_REF };
        }

        // Pods start only once the Secrets they reference exist.
        const secrets = [this.redis?.passwordSecret, jwtAuth?.secret].filter((s): s is k8s.core.v1.Secret => s !== undefined);
        const apiService = (kind: keyof typeof API_SERVICES, settings: ApiServiceSettings) =>
            new ApiService(
                `${name}-${kind}`,
                {
                    profile: API_SERVICES[kind],
                    namespace,
                    instance: name,
                    image: settings.image,
                    replicas: settings.replicas,
                    autoscaling: settings.autoscaling,
                    port: settings.port,
                    serviceType: args.serviceType,
                    nodePort: settings.nodePort,
                    logLevel: settings.logLevel,
                    resources: settings.resources,
                    storage: storageBinding,
                    auth: authBinding,
                    spreadAcrossZones: args.spreadAcrossZones,
                    storageEgress: this.redis?.clientEgress,
                    dependsOn: secrets,
                },
                inNamespace,
            );
        this.controller = apiService("controller", args.controller ?? DEFAULTS.controller);
        this.registry = apiService("registry", args.registry ?? DEFAULTS.registry);

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
}
