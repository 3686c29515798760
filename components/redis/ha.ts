import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { imageVersion } from "../config";
import { selectorLabels, standardLabels } from "../kube/labels";
import { isolatedPolicySpec } from "../kube/network";
import { requiredNodeAntiAffinity, resourceRequirements, restrictedContainerSecurity, restrictedPodSecurity, spreadConstraints } from "../kube/pod";
import {
    HAPROXY_PASSWORD_ENV,
    KUBERNETES_PATHS,
    REDIS_HA_FILES,
    buildRedisHaLayout,
    kubernetesNodeAddresses,
    preStopBudgetSeconds,
    recommendedTimings,
    renderRedisHaFiles,
} from "./haConfig";
import { REDIS_UID, checksum, dataVolumeClaim, redisContainer, redisVolumes } from "./pod";
import { RedisServerArgs } from "./types";

export const SENTINEL_PORT = 26379;
/** HAProxy's `GET /healthz` frontend, for its probes. */
export const HAPROXY_HEALTH_PORT = 8404;
/** The `haproxy` user of the official image. */
const HAPROXY_UID = 99;

/**
 * Redis that survives losing its master, behind ONE address: N Redis nodes (a StatefulSet with
 * AOF on PersistentVolumes, required anti-affinity), a Sentinel beside each (majority quorum),
 * and HAProxy in front that routes only to the node that reports `role:master` and that a
 * majority of Sentinels name. Every file comes from `haConfig.ts` (generated configs and
 * settings.env, the scripts of `scripts/`), the same files the loopback failover tests run.
 */
export class RedisHa extends pulumi.ComponentResource {
    /** Labels of the pods clients connect to (HAProxy). */
    readonly clientFacingSelector: Record<string, string>;

    constructor(name: string, args: RedisServerArgs, opts?: pulumi.ComponentResourceOptions) {
        super("amalgam8:redis:RedisHa", name, {}, opts);
        const childOpts = { parent: this };
        const { namespace, instance, settings } = args;
        const nodeName = `${args.serviceName}-node`;
        const proxyName = `${args.serviceName}-haproxy`;
        const nodeSelector = selectorLabels({ name: nodeName, instance });
        const proxySelector = selectorLabels({ name: proxyName, instance });
        const nodeLabels = standardLabels({ name: nodeName, instance, component: "storage", version: imageVersion(settings.image) });
        const proxyLabels = standardLabels({ name: proxyName, instance, component: "storage-proxy", version: imageVersion(settings.haproxy.image) });
        this.clientFacingSelector = proxySelector;

        const layout = buildRedisHaLayout({
            nodes: kubernetesNodeAddresses({
                statefulSetName: nodeName,
                headlessServiceName: nodeName,
                namespace,
                replicas: settings.nodes,
                redisPort: args.port,
                sentinelPort: SENTINEL_PORT,
            }),
            timings: {
                ...recommendedTimings,
                sentinel: { ...recommendedTimings.sentinel, ...settings.sentinel },
            },
            haproxy: { port: args.port, healthPort: HAPROXY_HEALTH_PORT },
        });
        const files = renderRedisHaFiles(layout);
        const configMeta = { name: `${args.serviceName}-ha-config`, namespace, labels: nodeLabels };
        const config = new k8s.core.v1.ConfigMap(`${name}-config`, { metadata: configMeta, data: files }, childOpts);
        const serviceAccount = new k8s.core.v1.ServiceAccount(
            `${name}-sa`,
            { metadata: { name: args.serviceName, namespace, labels: nodeLabels }, automountServiceAccountToken: false },
            childOpts,
        );

        // Stable per-pod DNS names (`redis-node-0.redis-node...`), published before readiness so
        // that nodes find each other while they start.
        const nodeMeta = { name: nodeName, namespace, labels: nodeLabels };
        const headless = new k8s.core.v1.Service(
            `${name}-nodes`,
            {
                metadata: nodeMeta,
                spec: {
                    clusterIP: "None",
                    publishNotReadyAddresses: true,
                    selector: nodeSelector,
                    ports: [
                        { name: "redis", port: args.port, targetPort: "redis", protocol: "TCP" },
                        { name: "sentinel", port: SENTINEL_PORT, targetPort: "sentinel", protocol: "TCP" },
                    ],
                },
            },
            childOpts,
        );

        const sentinel = redisContainer({ name: "sentinel", script: REDIS_HA_FILES.startSentinel, port: SENTINEL_PORT, portName: "sentinel", settings });
        new k8s.apps.v1.StatefulSet(
            `${name}-statefulset`,
            {
                metadata: nodeMeta,
                spec: {
                    replicas: settings.nodes,
                    serviceName: headless.metadata.name,
                    // All nodes start together; init.sh asks the Sentinels and peers who is master.
                    podManagementPolicy: "Parallel",
                    selector: { matchLabels: nodeSelector },
                    updateStrategy: { type: "RollingUpdate" },
                    template: {
                        metadata: { labels: nodeLabels, annotations: { "checksum/config": checksum(files) } },
                        spec: {
                            serviceAccountName: serviceAccount.metadata.name,
                            automountServiceAccountToken: false,
                            securityContext: restrictedPodSecurity(REDIS_UID),
                            affinity: requiredNodeAntiAffinity(nodeSelector),
                            // The preStop hook hands mastership over before the pod goes.
                            terminationGracePeriodSeconds: preStopBudgetSeconds(layout) + 10,
                            containers: [
                                redisContainer({
                                    name: "redis",
                                    script: REDIS_HA_FILES.startRedis,
                                    port: args.port,
                                    portName: "redis",
                                    settings,
                                    preStop: REDIS_HA_FILES.preStop,
                                }),
                                { ...sentinel, resources: resourceRequirements(sentinelResources) },
                            ],
                            volumes: redisVolumes(config.metadata.name, args.passwordSecret),
                        },
                    },
                    volumeClaimTemplates: [dataVolumeClaim(settings)],
                },
            },
            childOpts,
        );
        new k8s.policy.v1.PodDisruptionBudget(
            `${name}-nodes-pdb`,
            // One node at a time: a quorum of Sentinels and a replica always remain.
            { metadata: nodeMeta, spec: { maxUnavailable: 1, selector: { matchLabels: nodeSelector } } },
            childOpts,
        );

        const proxyMeta = { name: proxyName, namespace, labels: proxyLabels };
        new k8s.apps.v1.Deployment(
            `${name}-haproxy`,
            {
                metadata: proxyMeta,
                spec: {
                    replicas: settings.haproxy.replicas,
                    selector: { matchLabels: proxySelector },
                    strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
                    template: {
                        metadata: { labels: proxyLabels, annotations: { "checksum/config": checksum({ [REDIS_HA_FILES.haproxyCfg]: files[REDIS_HA_FILES.haproxyCfg] }) } },
                        spec: {
                            serviceAccountName: serviceAccount.metadata.name,
                            automountServiceAccountToken: false,
                            securityContext: restrictedPodSecurity(HAPROXY_UID),
                            topologySpreadConstraints: spreadConstraints(proxySelector, false),
                            containers: [
                                {
                                    name: "haproxy",
                                    image: settings.haproxy.image,
                                    imagePullPolicy: "IfNotPresent",
                                    command: ["haproxy", "-W", "-db", "-f", `${KUBERNETES_PATHS.templateDir}/${REDIS_HA_FILES.haproxyCfg}`],
                                    env: [
                                        {
                                            name: HAPROXY_PASSWORD_ENV,
                                            valueFrom: { secretKeyRef: { name: args.passwordSecret.name, key: args.passwordSecret.key } },
                                        },
                                    ],
                                    ports: [
                                        { name: "redis", containerPort: args.port, protocol: "TCP" },
                                        { name: "health", containerPort: HAPROXY_HEALTH_PORT, protocol: "TCP" },
                                    ],
                                    readinessProbe: { httpGet: { path: "/healthz", port: "health" }, periodSeconds: 5, failureThreshold: 3 },
                                    livenessProbe: { tcpSocket: { port: "redis" }, initialDelaySeconds: 10, periodSeconds: 10, failureThreshold: 6 },
                                    resources: resourceRequirements(settings.haproxy.resources),
                                    securityContext: restrictedContainerSecurity(),
                                    volumeMounts: [
                                        { name: "config", mountPath: KUBERNETES_PATHS.templateDir, readOnly: true },
                                        { name: "tmp", mountPath: "/tmp" },
                                    ],
                                },
                            ],
                            volumes: [
                                { name: "config", configMap: { name: config.metadata.name, items: [{ key: REDIS_HA_FILES.haproxyCfg, path: REDIS_HA_FILES.haproxyCfg }] } },
                                { name: "tmp", emptyDir: { medium: "Memory", sizeLimit: "16Mi" } },
                            ],
                        },
                    },
                },
            },
            childOpts,
        );
        new k8s.policy.v1.PodDisruptionBudget(
            `${name}-haproxy-pdb`,
            { metadata: proxyMeta, spec: { maxUnavailable: 1, selector: { matchLabels: proxySelector } } },
            childOpts,
        );
        // The one address the controller and the registry use.
        new k8s.core.v1.Service(
            `${name}-service`,
            {
                metadata: { name: args.serviceName, namespace, labels: proxyLabels },
                spec: { type: "ClusterIP", selector: proxySelector, ports: [{ name: "redis", port: args.port, targetPort: "redis", protocol: "TCP" }] },
            },
            childOpts,
        );

        const nodePorts = [
            { port: args.port, protocol: "TCP" },
            { port: SENTINEL_PORT, protocol: "TCP" },
        ];
        const toNodes = { to: [{ podSelector: { matchLabels: nodeSelector } }], ports: nodePorts };
        new k8s.networking.v1.NetworkPolicy(
            `${name}-nodes-netpol`,
            {
                metadata: nodeMeta,
                // Redis and Sentinel: reachable from peers and HAProxy only.
                spec: isolatedPolicySpec(
                    nodeSelector,
                    [{ from: [{ podSelector: { matchLabels: nodeSelector } }, { podSelector: { matchLabels: proxySelector } }], ports: nodePorts }],
                    [toNodes],
                ),
            },
            childOpts,
        );
        new k8s.networking.v1.NetworkPolicy(
            `${name}-haproxy-netpol`,
            {
                metadata: proxyMeta,
                spec: isolatedPolicySpec(
                    proxySelector,
                    [
                        { from: [{ podSelector: args.clientSelector }], ports: [{ port: args.port, protocol: "TCP" }] },
                        // Kubelet probes of the health frontend.
                        { ports: [{ port: HAPROXY_HEALTH_PORT, protocol: "TCP" }] },
                    ],
                    [toNodes],
                ),
            },
            childOpts,
        );

        this.registerOutputs({});
    }
}

const sentinelResources = { requests: { cpu: "50m", memory: "32Mi" }, limits: { memory: "128Mi" } };
