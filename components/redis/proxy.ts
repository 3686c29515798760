import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { FormerParent, movedChild } from "../aliases";
import { imageVersion } from "../config";
import { standardLabels } from "../kube/labels";
import { isolatedPolicySpec } from "../kube/network";
import { resourceRequirements, restrictedContainerSecurity, restrictedPodSecurity, spreadConstraints } from "../kube/pod";
import { HAPROXY_PASSWORD_ENV, KUBERNETES_PATHS, REDIS_HA_FILES } from "./haConfig";
import { toRedisNodes } from "./nodes";
import { PodSet, RedisServerArgs } from "./types";

/** HAProxy's `GET /healthz` frontend, for its probes. */
export const HAPROXY_HEALTH_PORT = 8404;
/** The `haproxy` user of the official image. */
const HAPROXY_UID = 99;

export interface RedisProxyArgs extends Pick<
    RedisServerArgs,
    "namespace" | "instance" | "settings" | "passwordSecret" | "port" | "clientSelector"
> {
    /** HAProxy: the name of its Deployment, ServiceAccount, PDB and NetworkPolicy, and their selector. */
    readonly pods: PodSet;
    /** The Service the clients use (`redis`). */
    readonly serviceName: string;
    /** The Redis nodes HAProxy routes to. */
    readonly nodes: PodSet;
    /** The ConfigMap that holds the rendered files. */
    readonly configMapName: pulumi.Input<string>;
    /** The keys of that ConfigMap that HAProxy mounts (haproxy.cfg and fence.lua). */
    readonly haproxyFiles: readonly string[];
    /** These resources were RedisHa's own before it was split: they keep their URNs. */
    readonly formerParent: FormerParent;
}

/**
 * The one address of the HA Redis: HAProxy replicas that route only to the node that reports
 * `role:master` and that a majority of Sentinels name, the `redis` Service in front of them, their
 * own ServiceAccount, a disruption budget and a network policy that admits only the clients.
 */
export class RedisProxy extends pulumi.ComponentResource {
    constructor(name: string, args: RedisProxyArgs, opts?: pulumi.ComponentResourceOptions) {
        super("amalgam8:redis:RedisProxy", name, {}, opts);
        const { namespace, pods } = args;
        const labels = standardLabels({
            name: pods.name,
            instance: args.instance,
            component: "storage-proxy",
            version: imageVersion(args.settings.haproxy.image),
        });
        const metadata = { name: pods.name, namespace, labels };
        const moved = (formerPart: string) => movedChild(this, args.formerParent, formerPart);

        // HAProxy never calls the Kubernetes API: no token.
        const serviceAccount = new k8s.core.v1.ServiceAccount(
            `${name}-sa`,
            { metadata, automountServiceAccountToken: false },
            { parent: this },
        );

        new k8s.apps.v1.Deployment(
            `${name}-deployment`,
            { metadata, spec: deploymentSpec(args, labels, serviceAccount.metadata.name) },
            moved("haproxy"),
        );
        new k8s.policy.v1.PodDisruptionBudget(
            `${name}-pdb`,
            { metadata, spec: { maxUnavailable: 1, selector: { matchLabels: pods.selector } } },
            moved("haproxy-pdb"),
        );

        // The one address the controller and the registry use.
        new k8s.core.v1.Service(
            `${name}-service`,
            {
                metadata: { ...metadata, name: args.serviceName },
                spec: {
                    type: "ClusterIP",
                    selector: pods.selector,
                    ports: [{ name: "redis", port: args.port, targetPort: "redis", protocol: "TCP" }],
                },
            },
            moved("service"),
        );

        new k8s.networking.v1.NetworkPolicy(`${name}-netpol`, { metadata, spec: networkPolicySpec(args) }, moved("haproxy-netpol"));

        this.registerOutputs({});
    }
}

function deploymentSpec(
    args: RedisProxyArgs,
    labels: Record<string, string>,
    serviceAccountName: pulumi.Input<string>,
): k8s.types.input.apps.v1.DeploymentSpec {
    const { selector } = args.pods;
    return {
        replicas: args.settings.haproxy.replicas,
        selector: { matchLabels: selector },
        strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
        template: {
            metadata: { labels },
            spec: {
                serviceAccountName,
                automountServiceAccountToken: false,
                securityContext: restrictedPodSecurity(HAPROXY_UID),
                topologySpreadConstraints: spreadConstraints(selector, false),
                containers: [haproxyContainer(args)],
                volumes: [
                    {
                        name: "config",
                        configMap: { name: args.configMapName, items: args.haproxyFiles.map((key) => ({ key, path: key })) },
                    },
                    { name: "tmp", emptyDir: { medium: "Memory", sizeLimit: "16Mi" } },
                ],
            },
        },
    };
}

/** Clients in, Redis nodes out; and the kubelet's probes of the health frontend. */
function networkPolicySpec(args: RedisProxyArgs): k8s.types.input.networking.v1.NetworkPolicySpec {
    return isolatedPolicySpec(
        args.pods.selector,
        [
            { from: [{ podSelector: args.clientSelector }], ports: [{ port: args.port, protocol: "TCP" }] },
            { ports: [{ port: HAPROXY_HEALTH_PORT, protocol: "TCP" }] },
        ],
        [toRedisNodes(args.nodes, args.port)],
    );
}

/** HAProxy with the generated haproxy.cfg; the password comes from the Secret as an env value. */
function haproxyContainer(args: RedisProxyArgs): k8s.types.input.core.v1.Container {
    return {
        name: "haproxy",
        image: args.settings.haproxy.image,
        imagePullPolicy: "IfNotPresent",
        command: ["haproxy", "-W", "-db", "-f", `${KUBERNETES_PATHS.templateDir}/${REDIS_HA_FILES.haproxyCfg}`],
        env: [
            { name: HAPROXY_PASSWORD_ENV, valueFrom: { secretKeyRef: { name: args.passwordSecret.name, key: args.passwordSecret.key } } },
        ],
        ports: [
            { name: "redis", containerPort: args.port, protocol: "TCP" },
            { name: "health", containerPort: HAPROXY_HEALTH_PORT, protocol: "TCP" },
        ],
        readinessProbe: { httpGet: { path: "/healthz", port: "health" }, periodSeconds: 5, failureThreshold: 3 },
        livenessProbe: { tcpSocket: { port: "redis" }, initialDelaySeconds: 10, periodSeconds: 10, failureThreshold: 6 },
        resources: resourceRequirements(args.settings.haproxy.resources),
        securityContext: restrictedContainerSecurity(),
        volumeMounts: [
            { name: "config", mountPath: KUBERNETES_PATHS.templateDir, readOnly: true },
            { name: "tmp", mountPath: "/tmp" },
        ],
    };
}
