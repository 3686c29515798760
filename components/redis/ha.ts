import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { selectorLabels } from "../kube/labels";
import { buildRedisHaLayout, haproxyFiles, kubernetesNodeAddresses, recommendedTimings, renderRedisHaFiles } from "./haConfig";
import { RedisNodes, SENTINEL_PORT, redisNodeLabels } from "./nodes";
import { HAPROXY_HEALTH_PORT, RedisProxy } from "./proxy";
import { contentAddressedName } from "./pod";
import { PodSet, RedisServerArgs } from "./types";

/**
 * Redis that survives losing its master, behind ONE address: the Redis nodes with a Sentinel
 * beside each (`RedisNodes`) and HAProxy in front of them (`RedisProxy`), sharing one ConfigMap.
 * Every file comes from `haConfig.ts` (generated configs and settings.env, the scripts of
 * `scripts/`), the same files the loopback failover tests run.
 */
export class RedisHa extends pulumi.ComponentResource {
    /** Labels of the pods clients connect to (HAProxy). */
    readonly clientFacingSelector: Record<string, string>;

    constructor(name: string, args: RedisServerArgs, opts?: pulumi.ComponentResourceOptions) {
        super("amalgam8:redis:RedisHa", name, {}, opts);
        const { namespace, instance, settings } = args;
        const podSet = (podName: string): PodSet => ({ name: podName, selector: selectorLabels({ name: podName, instance }) });
        const nodes = podSet(`${args.serviceName}-node`);
        const proxy = podSet(`${args.serviceName}-haproxy`);
        this.clientFacingSelector = proxy.selector;

        const layout = buildRedisHaLayout({
            nodes: kubernetesNodeAddresses({
                statefulSetName: nodes.name,
                headlessServiceName: nodes.name,
                namespace,
                replicas: settings.nodes,
                redisPort: args.port,
                sentinelPort: SENTINEL_PORT,
            }),
            timings: {
                ...recommendedTimings,
                sentinel: {
                    ...recommendedTimings.sentinel,
                    downAfterMilliseconds: settings.sentinel.downAfterMilliseconds,
                    failoverTimeout: settings.sentinel.failoverTimeout,
                },
            },
            haproxy: { port: args.port, healthPort: HAPROXY_HEALTH_PORT },
        });
        const files = renderRedisHaFiles(layout);
        const config = new k8s.core.v1.ConfigMap(
            `${name}-config`,
            {
                metadata: {
                    name: contentAddressedName(`${args.serviceName}-ha-config`, files),
                    namespace,
                    labels: redisNodeLabels(nodes, instance, settings),
                },
                data: files,
            },
            { parent: this },
        );

        const shared = {
            namespace,
            instance,
            settings,
            passwordSecret: args.passwordSecret,
            port: args.port,
            configMapName: config.metadata.name,
        };
        const formerParent = { resource: this, name };
        // The nodes keep the ServiceAccount named after the Service, which HAProxy used to share.
        new RedisNodes(
            `${name}-nodes`,
            { ...shared, pods: nodes, serviceAccountName: args.serviceName, layout, proxy, formerParent },
            { parent: this },
        );
        new RedisProxy(
            `${name}-haproxy`,
            {
                ...shared,
                pods: proxy,
                serviceName: args.serviceName,
                nodes,
                clientSelector: args.clientSelector,
                haproxyFiles: Object.keys(haproxyFiles(layout)),
                formerParent,
            },
            { parent: this },
        );

        this.registerOutputs({});
    }
}
