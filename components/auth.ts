import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import * as random from "@pulumi/random";
import * as jwt from "jsonwebtoken";
import { SecretKeyRef } from "./amalgam8";
import { standardLabels } from "./kube/labels";
import { singleValueSecret } from "./kube/secret";
import { SECRETS } from "./settings/schema";

export const JWT_SECRET_REF: SecretKeyRef = { name: "a8-auth", key: "jwt-secret" };
/** The tenant claim that grants access to every tenant. */
export const ADMIN_NAMESPACE = "admin";

/**
 * An HS256 token with the `namespace` claim Amalgam8 reads. No `iat`/`exp`: the token is a stack
 * output, and a timestamp would change it on every `pulumi up`; rotate the secret to revoke it.
 */
export function signToken(secret: string, namespace: string): string {
    return jwt.sign({ namespace }, secret, { algorithm: "HS256", noTimestamp: true });
}

export interface JwtAuthArgs {
    /** Plain: the Secret lives beside the services that reference it. */
    readonly namespace: string;
    readonly instance: string;
    /** The HS256 secret; generated when absent. */
    readonly secret?: pulumi.Input<string>;
}

/** JWT authentication: the shared HS256 secret as a Kubernetes Secret, and an admin token. */
export class JwtAuth extends pulumi.ComponentResource {
    readonly secret: k8s.core.v1.Secret;
    /** A token with `namespace: admin`, for operators; a secret output. */
    readonly adminToken: pulumi.Output<string>;

    constructor(name: string, args: JwtAuthArgs, opts?: pulumi.ComponentResourceOptions) {
        super("amalgam8:index:JwtAuth", name, {}, opts);
        const value = pulumi.secret(
            args.secret ??
                new random.RandomPassword(`${name}-secret`, { length: SECRETS.jwtSecret.generatedLength, special: false }, { parent: this })
                    .result,
        );
        this.secret = new k8s.core.v1.Secret(
            `${name}-secret`,
            singleValueSecret(
                JWT_SECRET_REF,
                args.namespace,
                standardLabels({ name: "a8-auth", instance: args.instance, component: "auth" }),
                value,
            ),
            { parent: this },
        );
        this.adminToken = pulumi.secret(value.apply((s) => signToken(s, ADMIN_NAMESPACE)));
        this.registerOutputs({ adminToken: this.adminToken });
    }
}
