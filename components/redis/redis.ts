import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import * as random from "@pulumi/random";
import { SecretKeyRef, StorageBinding, serviceFqdn } from "../amalgam8";
import { RedisSettings, parseHostPort } from "../config";
import { ipVersion } from "../hosts";
import { SECRETS } from "../settings/schema";
import { standardLabels } from "../kube/labels";
import { singleValueSecret } from "../kube/secret";
import { RedisHa } from "./ha";
import { RedisStandalone } from "./standalone";

type LabelSelector = k8s.types.input.meta.v1.LabelSelector;
type NetworkPolicyEgressRule = k8s.types.input.networking.v1.NetworkPolicyEgressRule;

export const REDIS_PORT = 6379;
/** The Service clients use, whatever the mode: Redis itself, or the HAProxy in front of the HA set. */
export const REDIS_SERVICE = "redis";
export const PASSWORD_SECRET: SecretKeyRef = { name: "redis-auth", key: "password" };

export interface RedisArgs {
    /** Plain: the in-cluster address is built from it. */
    readonly namespace: string;
    readonly instance: string;
    /** The mode (standalone, ha, external; plain: it decides which objects exist), image,
     * storage, resources, HA sizing, external address. */
    readonly settings: RedisSettings;
    /** AUTH password (a secret). Generated when absent; required for `external`. */
    readonly password?: pulumi.Input<string>;
    /** The pods allowed to talk to Redis (the controller and the registry). */
    readonly clientSelector: LabelSelector;
}

/**
 * The Redis backend of the control plane behind ONE address, because neither Amalgam8 service
 * speaks Sentinel: a single persistent node (`standalone`), a Sentinel-managed set behind HAProxy
 * (`ha`), or a managed endpoint outside the cluster (`external`).
 */
export class Redis extends pulumi.ComponentResource {
    /** Host the clients connect to. */
    readonly host: string;
    readonly port: number;
    /** `host:port` */
    readonly address: pulumi.Output<string>;
    /** The AUTH password, a secret output. */
    readonly password: pulumi.Output<string>;
    /** The Kubernetes Secret that holds the password. */
    readonly passwordSecret: k8s.core.v1.Secret;
    /** How an Amalgam8 service reaches this Redis. */
    readonly binding: StorageBinding;
    /** Egress rule a client needs to reach this Redis. */
    readonly clientEgress: NetworkPolicyEgressRule[];

    constructor(name: string, args: RedisArgs, opts?: pulumi.ComponentResourceOptions) {
        super("amalgam8:index:Redis", name, {}, opts);
        const childOpts = { parent: this };

        if (args.settings.mode === "external") {
            const endpoint = parseHostPort(args.settings.address ?? "");
            if (!endpoint || args.password === undefined) {
                throw new Error("Redis: mode external needs settings.address (host:port) and a password");
            }
            this.host = endpoint.host;
            this.port = endpoint.port;
        } else {
            this.host = serviceFqdn(REDIS_SERVICE, args.namespace);
            this.port = REDIS_PORT;
        }
        this.address = pulumi.output(`${this.host}:${this.port}`);

        // Letters and digits: within the password rule (settings/redisPassword.ts) whatever the length.
        const generatedLength = SECRETS.redisPassword.generatedLength;
        this.password = pulumi.secret(
            args.password ?? new random.RandomPassword(`${name}-password`, { length: generatedLength, special: false }, childOpts).result,
        );
        this.passwordSecret = new k8s.core.v1.Secret(
            `${name}-auth`,
            singleValueSecret(
                PASSWORD_SECRET,
                args.namespace,
                standardLabels({ name: "redis-auth", instance: args.instance, component: "storage" }),
                this.password,
            ),
            childOpts,
        );
        // With replicas of our own, a rule is acknowledged only once one of them has it: a failover then loses none.
        const writeReplicas = args.settings.mode === "ha" ? 1 : 0;
        this.binding = { kind: "redis", host: this.host, port: this.port, password: PASSWORD_SECRET, writeReplicas };

        const common = {
            namespace: args.namespace,
            instance: args.instance,
            settings: args.settings,
            passwordSecret: PASSWORD_SECRET,
            clientSelector: args.clientSelector,
            serviceName: REDIS_SERVICE,
            port: REDIS_PORT,
        };
        let serverSelector: Record<string, string> | undefined;
        if (args.settings.mode === "standalone") {
            serverSelector = new RedisStandalone(`${name}-standalone`, common, { ...childOpts, dependsOn: [this.passwordSecret] })
                .clientFacingSelector;
        } else if (args.settings.mode === "ha") {
            serverSelector = new RedisHa(`${name}-ha`, common, { ...childOpts, dependsOn: [this.passwordSecret] }).clientFacingSelector;
        }

        this.clientEgress = [
            serverSelector
                ? { to: [{ podSelector: { matchLabels: serverSelector } }], ports: [{ port: REDIS_PORT, protocol: "TCP" }] }
                : // A managed endpoint: its address is outside the cluster and may be a DNS name.
                  { to: [externalPeer(this.host)], ports: [{ port: this.port, protocol: "TCP" }] },
        ];

        this.registerOutputs({ address: this.address, password: this.password });
    }
}

/** An IP address is allowed alone; a DNS name can resolve anywhere, so only the port is restricted. */
function externalPeer(host: string): k8s.types.input.networking.v1.NetworkPolicyPeer {
    const version = ipVersion(host);
    return { ipBlock: { cidr: version === 4 ? `${host}/32` : version === 6 ? `${host}/128` : "0.0.0.0/0" } };
}
