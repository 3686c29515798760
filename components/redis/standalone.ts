import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { serviceFqdn } from "../amalgam8";
import { imageVersion } from "../config";
import { selectorLabels, standardLabels } from "../kube/labels";
import { isolatedPolicySpec } from "../kube/network";
import { restrictedPodSecurity } from "../kube/pod";
import { REDIS_HA_FILES, renderStandaloneRedisFiles, standaloneRedisLayout } from "./haConfig";
import { contentAddressedName, dataVolumeClaim, redisContainer, redisVolumes, REDIS_UID } from "./pod";
import { RedisServerArgs } from "./types";

/**
 * One persistent Redis node (AOF on a PersistentVolume, AUTH from a Secret) behind a ClusterIP
 * Service that only the control plane's pods may reach. Not HA: for environments that accept a
 * Redis outage while its pod is rescheduled.
 */
export class RedisStandalone extends pulumi.ComponentResource {
    /** Labels of the pods clients connect to. */
    readonly clientFacingSelector: Record<string, string>;

    constructor(name: string, args: RedisServerArgs, opts?: pulumi.ComponentResourceOptions) {
        super("amalgam8:redis:RedisStandalone", name, {}, opts);
        const childOpts = { parent: this };
        const selector = selectorLabels({ name: "redis", instance: args.instance });
        const labels = standardLabels({
            name: "redis",
            instance: args.instance,
            component: "storage",
            version: imageVersion(args.settings.image),
        });
        const metadata = { name: args.serviceName, namespace: args.namespace, labels };
        this.clientFacingSelector = selector;

        const files = renderStandaloneRedisFiles(
            standaloneRedisLayout({ host: serviceFqdn(args.serviceName, args.namespace), port: args.port }),
        );
        const config = new k8s.core.v1.ConfigMap(
            `${name}-config`,
            { metadata: { ...metadata, name: contentAddressedName(`${args.serviceName}-config`, files) }, data: files },
            childOpts,
        );
        const serviceAccount = new k8s.core.v1.ServiceAccount(`${name}-sa`, { metadata, automountServiceAccountToken: false }, childOpts);

        const service = new k8s.core.v1.Service(
            `${name}-service`,
            {
                metadata,
                spec: { type: "ClusterIP", selector, ports: [{ name: "redis", port: args.port, targetPort: "redis", protocol: "TCP" }] },
            },
            childOpts,
        );

        new k8s.apps.v1.StatefulSet(
            `${name}-statefulset`,
            {
                metadata,
                spec: {
                    replicas: 1,
                    serviceName: service.metadata.name,
                    selector: { matchLabels: selector },
                    updateStrategy: { type: "RollingUpdate" },
                    template: {
                        metadata: { labels },
                        spec: {
                            serviceAccountName: serviceAccount.metadata.name,
                            automountServiceAccountToken: false,
                            securityContext: restrictedPodSecurity(REDIS_UID),
                            terminationGracePeriodSeconds: 30,
                            containers: [
                                redisContainer({
                                    name: "redis",
                                    script: REDIS_HA_FILES.startRedis,
                                    port: args.port,
                                    portName: "redis",
                                    settings: args.settings,
                                }),
                            ],
                            volumes: redisVolumes(config.metadata.name, args.passwordSecret),
                        },
                    },
                    volumeClaimTemplates: [dataVolumeClaim(args.settings)],
                },
            },
            childOpts,
        );

        new k8s.networking.v1.NetworkPolicy(
            `${name}-netpol`,
            // A lone node talks to nobody; only the clients reach it.
            {
                metadata,
                spec: isolatedPolicySpec(selector, [
                    { from: [{ podSelector: args.clientSelector }], ports: [{ port: args.port, protocol: "TCP" }] },
                ]),
            },
            childOpts,
        );

        this.registerOutputs({});
    }
}
