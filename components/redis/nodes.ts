import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { FormerParent, movedChild } from "../aliases";
import { RedisSettings, imageVersion } from "../config";
import { standardLabels } from "../kube/labels";
import { isolatedPolicySpec } from "../kube/network";
import { requiredNodeAntiAffinity, resourceRequirements, restrictedPodSecurity } from "../kube/pod";
import { REDIS_HA_FILES, RedisHaLayout, preStopBudgetSeconds } from "./haConfig";
import { REDIS_UID, dataVolumeClaim, redisContainer, redisVolumes } from "./pod";
import { PodSet, RedisServerArgs } from "./types";

type NetworkPolicyEgressRule = k8s.types.input.networking.v1.NetworkPolicyEgressRule;

export const SENTINEL_PORT = 26379;

/** Egress to every node's Redis and Sentinel: what the peers and HAProxy need. */
export function toRedisNodes(nodes: PodSet, redisPort: number): NetworkPolicyEgressRule {
    return {
        to: [{ podSelector: { matchLabels: nodes.selector } }],
        ports: [
            { port: redisPort, protocol: "TCP" },
            { port: SENTINEL_PORT, protocol: "TCP" },
        ],
    };
}

/** Labels of the nodes' objects and pods (and of the ConfigMap they mount). */
export function redisNodeLabels(pods: PodSet, instance: string, settings: RedisSettings): Record<string, string> {
    return standardLabels({ name: pods.name, instance, component: "storage", version: imageVersion(settings.image) });
}

export interface RedisNodesArgs extends Pick<RedisServerArgs, "namespace" | "instance" | "settings" | "passwordSecret" | "port"> {
    /** The nodes: the name of the StatefulSet, its headless Service, PDB and NetworkPolicy, and their selector. */
    readonly pods: PodSet;
    /** Name of the nodes' ServiceAccount. */
    readonly serviceAccountName: string;
    /** The layout the files were rendered from (the preStop hook's time budget). */
    readonly layout: RedisHaLayout;
    /** The ConfigMap that holds the rendered files (its name changes with them). */
    readonly configMapName: pulumi.Input<string>;
    /** HAProxy: besides the peers, the only pods that may reach Redis and Sentinel. */
    readonly proxy: PodSet;
    /** These resources were RedisHa's own before it was split: they keep their URNs. */
    readonly formerParent: FormerParent;
}

/**
 * The Redis nodes: a StatefulSet with AOF on PersistentVolumes and required anti-affinity, a
 * Sentinel beside each Redis (majority quorum), the headless Service that gives each a stable DNS
 * name, a disruption budget and a network policy.
 */
export class RedisNodes extends pulumi.ComponentResource {
    constructor(name: string, args: RedisNodesArgs, opts?: pulumi.ComponentResourceOptions) {
        super("amalgam8:redis:RedisNodes", name, {}, opts);
        const { namespace, settings, pods } = args;
        const labels = redisNodeLabels(pods, args.instance, settings);
        const metadata = { name: pods.name, namespace, labels };
        const moved = (formerPart: string) => movedChild(this, args.formerParent, formerPart);

        const serviceAccount = new k8s.core.v1.ServiceAccount(
            `${name}-sa`,
            { metadata: { ...metadata, name: args.serviceAccountName }, automountServiceAccountToken: false },
            moved("sa"),
        );

        // Stable per-pod DNS names (`redis-node-0.redis-node...`), published before readiness so
        // that nodes find each other while they start.
        const headless = new k8s.core.v1.Service(`${name}-service`, { metadata, spec: headlessServiceSpec(args) }, moved("nodes"));
        new k8s.apps.v1.StatefulSet(
            `${name}-statefulset`,
            { metadata, spec: statefulSetSpec(args, labels, headless.metadata.name, serviceAccount.metadata.name) },
            moved("statefulset"),
        );
        new k8s.policy.v1.PodDisruptionBudget(
            `${name}-pdb`,
            // One node at a time: a quorum of Sentinels and a replica always remain.
            { metadata, spec: { maxUnavailable: 1, selector: { matchLabels: pods.selector } } },
            moved("nodes-pdb"),
        );
        new k8s.networking.v1.NetworkPolicy(`${name}-netpol`, { metadata, spec: networkPolicySpec(args) }, moved("nodes-netpol"));

        this.registerOutputs({});
    }
}

function headlessServiceSpec(args: RedisNodesArgs): k8s.types.input.core.v1.ServiceSpec {
    return {
        clusterIP: "None",
        publishNotReadyAddresses: true,
        selector: args.pods.selector,
        ports: [
            { name: "redis", port: args.port, targetPort: "redis", protocol: "TCP" },
            { name: "sentinel", port: SENTINEL_PORT, targetPort: "sentinel", protocol: "TCP" },
        ],
    };
}

function statefulSetSpec(
    args: RedisNodesArgs,
    labels: Record<string, string>,
    serviceName: pulumi.Input<string>,
    serviceAccountName: pulumi.Input<string>,
): k8s.types.input.apps.v1.StatefulSetSpec {
    const { selector } = args.pods;
    return {
        replicas: args.settings.nodes,
        serviceName,
        // All nodes start together; init.sh asks the Sentinels and peers who is master.
        podManagementPolicy: "Parallel",
        selector: { matchLabels: selector },
        updateStrategy: { type: "RollingUpdate" },
        template: {
            metadata: { labels },
            spec: {
                serviceAccountName,
                automountServiceAccountToken: false,
                securityContext: restrictedPodSecurity(REDIS_UID),
                affinity: requiredNodeAntiAffinity(selector),
                // The preStop hook hands mastership over before the pod goes.
                terminationGracePeriodSeconds: preStopBudgetSeconds(args.layout) + 10,
                containers: nodeContainers(args),
                volumes: redisVolumes(args.configMapName, args.passwordSecret),
            },
        },
        volumeClaimTemplates: [dataVolumeClaim(args.settings)],
    };
}

/** Redis and Sentinel: reachable from peers and HAProxy only. */
function networkPolicySpec(args: RedisNodesArgs): k8s.types.input.networking.v1.NetworkPolicySpec {
    const peers = toRedisNodes(args.pods, args.port);
    const from = [{ podSelector: { matchLabels: args.pods.selector } }, { podSelector: { matchLabels: args.proxy.selector } }];
    return isolatedPolicySpec(args.pods.selector, [{ from, ports: peers.ports }], [peers]);
}

/** Redis (with the preStop hand-over) and its Sentinel. */
function nodeContainers(args: RedisNodesArgs): k8s.types.input.core.v1.Container[] {
    const { settings } = args;
    const redis = redisContainer({
        name: "redis",
        script: REDIS_HA_FILES.startRedis,
        port: args.port,
        portName: "redis",
        settings,
        preStop: REDIS_HA_FILES.preStop,
    });
    const sentinel = redisContainer({
        name: "sentinel",
        script: REDIS_HA_FILES.startSentinel,
        port: SENTINEL_PORT,
        portName: "sentinel",
        settings,
    });
    return [redis, { ...sentinel, resources: resourceRequirements(settings.sentinel.resources) }];
}
