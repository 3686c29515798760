import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import {
    ApiServiceProfile,
    AuthBinding,
    CONTAINER_PORT,
    CONTAINER_PORT_NAME,
    StorageBinding,
    apiServiceEnv,
    serviceFqdn,
} from "./amalgam8";
import { AutoscalingSettings, LogLevel, ResourceSettings, ServiceType, imageVersion } from "./config";
import { selectorLabels, standardLabels } from "./kube/labels";
import { isolatedPolicySpec } from "./kube/network";
import { resourceRequirements, restrictedContainerSecurity, restrictedPodSecurity, spreadConstraints } from "./kube/pod";

type NetworkPolicyEgressRule = k8s.types.input.networking.v1.NetworkPolicyEgressRule;

/** Arguments of one Amalgam8 API service (the controller or the registry). */
export interface ApiServiceArgs {
    /** Which service: its env contract, probes and default port. */
    readonly profile: ApiServiceProfile;
    /** Namespace of every object. Plain: the in-cluster URL is built from it. */
    readonly namespace: string;
    /** `app.kubernetes.io/instance` of the control plane. Plain: selectors are built from it. */
    readonly instance: string;
    /** Pinned image, `name:tag` or a digest. Plain: its tag becomes the version label. */
    readonly image: string;
    /** Replicas when not autoscaled. Defaults to 2. */
    readonly replicas?: pulumi.Input<number>;
    /** When set, an HPA owns the replica count and the Deployment leaves it unset. */
    readonly autoscaling?: AutoscalingSettings;
    /** Service port. Defaults to the profile's port (controller 6080, registry 5080). */
    readonly port?: pulumi.Input<number>;
    readonly serviceType?: pulumi.Input<ServiceType>;
    /** Node port, used when `serviceType` is NodePort. */
    readonly nodePort?: pulumi.Input<number>;
    readonly logLevel?: pulumi.Input<LogLevel>;
    readonly resources: ResourceSettings;
    readonly storage: StorageBinding;
    readonly auth: AuthBinding;
    /** Also spread replicas across zones (nodes are always spread). */
    readonly spreadAcrossZones?: boolean;
    /** Egress the service needs besides DNS (its storage). */
    readonly storageEgress?: NetworkPolicyEgressRule[];
    /** Objects the pods need before they start (the Secrets they reference). */
    readonly dependsOn?: pulumi.Input<pulumi.Resource>[];
}

/**
 * One stateless Amalgam8 API service: a Deployment that keeps its capacity during rollouts and
 * node drains, the Service in front of it, its disruption budget, network policy and optional
 * autoscaler. The controller and the registry are two instances of this component.
 */
export class ApiService extends pulumi.ComponentResource {
    readonly deployment: k8s.apps.v1.Deployment;
    readonly service: k8s.core.v1.Service;
    /** In-cluster URL, e.g. `http://controller.amalgam8.svc.cluster.local:6080`. */
    readonly url: pulumi.Output<string>;
    /** Address reachable from outside the cluster; undefined for a ClusterIP Service. */
    readonly endpoint: pulumi.Output<string | undefined>;

    constructor(name: string, args: ApiServiceArgs, opts?: pulumi.ComponentResourceOptions) {
        super("amalgam8:index:ApiService", name, {}, opts);
        const { profile, namespace } = args;
        const serviceName = profile.kind;
        const selector = selectorLabels({ name: serviceName, instance: args.instance });
        const labels = standardLabels({
            name: serviceName,
            instance: args.instance,
            component: profile.component,
            version: imageVersion(args.image),
        });
        const metadata = { name: serviceName, namespace, labels };
        const port = args.port ?? profile.defaultPort;
        const serviceType = pulumi.output(args.serviceType ?? "ClusterIP");
        const childOpts = { parent: this };

        const serviceAccount = new k8s.core.v1.ServiceAccount(
            `${name}-sa`,
            // The services never call the Kubernetes API: no token anywhere.
            { metadata, automountServiceAccountToken: false },
            childOpts,
        );

        this.deployment = new k8s.apps.v1.Deployment(
            `${name}-deployment`,
            {
                metadata: { ...metadata, annotations: { "kubernetes.io/description": profile.description } },
                spec: {
                    ...(args.autoscaling ? {} : { replicas: args.replicas ?? 2 }),
                    selector: { matchLabels: selector },
                    // Surge first, never go below the desired count.
                    strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
                    minReadySeconds: 5,
                    progressDeadlineSeconds: 300,
                    revisionHistoryLimit: 5,
                    template: {
                        metadata: { labels },
                        spec: {
                            serviceAccountName: serviceAccount.metadata.name,
                            automountServiceAccountToken: false,
                            securityContext: restrictedPodSecurity(),
                            topologySpreadConstraints: spreadConstraints(selector, args.spreadAcrossZones ?? false),
                            terminationGracePeriodSeconds: 30,
                            containers: [
                                {
                                    name: serviceName,
                                    image: args.image,
                                    imagePullPolicy: "IfNotPresent",
                                    ports: [{ name: CONTAINER_PORT_NAME, containerPort: CONTAINER_PORT, protocol: "TCP" }],
                                    env: pulumi
                                        .output(args.logLevel ?? "info")
                                        .apply((level) => apiServiceEnv(profile, level, args.storage, args.auth)),
                                    readinessProbe: profile.readinessProbe,
                                    livenessProbe: profile.livenessProbe,
                                    resources: resourceRequirements(args.resources),
                                    securityContext: restrictedContainerSecurity(),
                                },
                            ],
                        },
                    },
                },
            },
            { ...childOpts, dependsOn: args.dependsOn },
        );

        this.service = new k8s.core.v1.Service(
            `${name}-service`,
            {
                metadata,
                spec: {
                    type: serviceType,
                    selector,
                    ports: [
                        {
                            name: CONTAINER_PORT_NAME,
                            port,
                            targetPort: CONTAINER_PORT_NAME,
                            protocol: "TCP",
                            nodePort: pulumi
                                .all([serviceType, args.nodePort])
                                .apply(([type, nodePort]) => (type === "NodePort" ? nodePort : undefined)),
                        },
                    ],
                },
            },
            childOpts,
        );

        new k8s.policy.v1.PodDisruptionBudget(
            `${name}-pdb`,
            // Exactly one pod may be evicted at a time: drains proceed, capacity stays.
            { metadata, spec: { maxUnavailable: 1, selector: { matchLabels: selector }, unhealthyPodEvictionPolicy: "AlwaysAllow" } },
            childOpts,
        );

        new k8s.networking.v1.NetworkPolicy(
            `${name}-netpol`,
            {
                metadata,
                // Sidecars in every namespace (and node ports, load balancers) call the API.
                spec: isolatedPolicySpec(selector, [{ ports: [{ port: CONTAINER_PORT, protocol: "TCP" }] }], args.storageEgress),
            },
            childOpts,
        );

        if (args.autoscaling) {
            const a = args.autoscaling;
            new k8s.autoscaling.v2.HorizontalPodAutoscaler(
                `${name}-hpa`,
                {
                    metadata,
                    spec: {
                        scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: serviceName },
                        minReplicas: a.minReplicas,
                        maxReplicas: a.maxReplicas,
                        metrics: [
                            {
                                type: "Resource",
                                resource: { name: "cpu", target: { type: "Utilization", averageUtilization: a.targetCpuUtilization } },
                            },
                        ],
                    },
                },
                { ...childOpts, dependsOn: [this.deployment] },
            );
        }

        this.url = pulumi.interpolate`http://${serviceFqdn(serviceName, namespace)}:${port}`;
        this.endpoint = pulumi
            .all([serviceType, this.service.spec, this.service.status])
            .apply(([type, spec, status]) => externalEndpoint(type, spec, status));

        this.registerOutputs({ url: this.url, endpoint: this.endpoint });
    }
}

/** The address a client outside the cluster uses, from the Service as the cluster reports it. */
export function externalEndpoint(
    type: ServiceType,
    spec: k8s.types.output.core.v1.ServiceSpec | undefined,
    status: k8s.types.output.core.v1.ServiceStatus | undefined,
): string | undefined {
    const port = spec?.ports?.[0];
    if (type === "NodePort" && port?.nodePort) {
        return `http://<node-address>:${port.nodePort}`;
    }
    if (type === "LoadBalancer") {
        const ingress = status?.loadBalancer?.ingress?.[0];
        const host = ingress?.hostname || ingress?.ip;
        return host && port ? `http://${host}:${port.port}` : undefined;
    }
    return undefined;
}
