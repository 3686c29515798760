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
import { AutoscalingSettings, DEFAULTS, LogLevel, ResourceSettings, ServiceType, imageVersion } from "./config";
import { selectorLabels, standardLabels } from "./kube/labels";
import { isolatedPolicySpec } from "./kube/network";
import { resourceRequirements, restrictedContainerSecurity, restrictedPodSecurity, spreadConstraints } from "./kube/pod";

type NetworkPolicyEgressRule = k8s.types.input.networking.v1.NetworkPolicyEgressRule;
type DeploymentSpec = k8s.types.input.apps.v1.DeploymentSpec;
type ServiceSpec = k8s.types.input.core.v1.ServiceSpec;
type PodDisruptionBudgetSpec = k8s.types.input.policy.v1.PodDisruptionBudgetSpec;
type HorizontalPodAutoscalerSpec = k8s.types.input.autoscaling.v2.HorizontalPodAutoscalerSpec;

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
    /** Replicas when not autoscaled. Defaults to the stack setting's default (3). */
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
        const objects = apiServiceObjects(args);
        const { metadata, selector } = objects;
        const port = args.port ?? args.profile.defaultPort;
        const serviceType = pulumi.output(args.serviceType ?? "ClusterIP");
        const childOpts = { parent: this };

        // The services never call the Kubernetes API: no token anywhere.
        const serviceAccount = new k8s.core.v1.ServiceAccount(`${name}-sa`, { metadata, automountServiceAccountToken: false }, childOpts);
        this.deployment = new k8s.apps.v1.Deployment(
            `${name}-deployment`,
            {
                metadata: { ...metadata, annotations: { "kubernetes.io/description": args.profile.description } },
                spec: workloadSpec(args, objects, serviceAccount.metadata.name),
            },
            { ...childOpts, dependsOn: args.dependsOn },
        );
        this.service = new k8s.core.v1.Service(
            `${name}-service`,
            { metadata, spec: exposureSpec(selector, port, serviceType, args.nodePort) },
            childOpts,
        );
        new k8s.policy.v1.PodDisruptionBudget(`${name}-pdb`, { metadata, spec: disruptionBudgetSpec(selector) }, childOpts);
        new k8s.networking.v1.NetworkPolicy(
            `${name}-netpol`,
            // Sidecars in every namespace (and node ports, load balancers) call the API.
            { metadata, spec: isolatedPolicySpec(selector, [{ ports: [{ port: CONTAINER_PORT, protocol: "TCP" }] }], args.storageEgress) },
            childOpts,
        );
        if (args.autoscaling) {
            new k8s.autoscaling.v2.HorizontalPodAutoscaler(
                `${name}-hpa`,
                { metadata, spec: autoscalerSpec(metadata.name, args.autoscaling) },
                { ...childOpts, dependsOn: [this.deployment] },
            );
        }

        this.url = pulumi.interpolate`http://${serviceFqdn(metadata.name, args.namespace)}:${port}`;
        this.endpoint = pulumi
            .all([serviceType, this.service.spec, this.service.status])
            .apply(([type, spec, status]) => externalEndpoint(type, spec, status));

        this.registerOutputs({ url: this.url, endpoint: this.endpoint });
    }
}

/** Name, labels and selector shared by every object of one service; the name is the service's kind. */
interface ApiServiceObjects {
    readonly metadata: { readonly name: string; readonly namespace: string; readonly labels: Record<string, string> };
    readonly selector: Record<string, string>;
}

function apiServiceObjects(args: ApiServiceArgs): ApiServiceObjects {
    const name = args.profile.kind;
    const labels = standardLabels({ name, instance: args.instance, component: args.profile.component, version: imageVersion(args.image) });
    return { metadata: { name, namespace: args.namespace, labels }, selector: selectorLabels({ name, instance: args.instance }) };
}

/** The workload: replicas spread over nodes, surge-first rollouts, the restricted profile. */
function workloadSpec(args: ApiServiceArgs, objects: ApiServiceObjects, serviceAccountName: pulumi.Input<string>): DeploymentSpec {
    const { profile } = args;
    return {
        ...(args.autoscaling ? {} : { replicas: args.replicas ?? DEFAULTS[args.profile.kind].replicas }),
        selector: { matchLabels: objects.selector },
        // Surge first, never go below the desired count.
        strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
        minReadySeconds: 5,
        progressDeadlineSeconds: 300,
        revisionHistoryLimit: 5,
        template: {
            metadata: { labels: objects.metadata.labels },
            spec: {
                serviceAccountName,
                automountServiceAccountToken: false,
                securityContext: restrictedPodSecurity(),
                topologySpreadConstraints: spreadConstraints(objects.selector, args.spreadAcrossZones ?? false),
                terminationGracePeriodSeconds: 30,
                containers: [
                    {
                        name: objects.metadata.name,
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
    };
}

/** The exposure: the Service port in front of the container port; a node port only for NodePort. */
function exposureSpec(
    selector: Record<string, string>,
    port: pulumi.Input<number>,
    serviceType: pulumi.Output<ServiceType>,
    nodePort: pulumi.Input<number> | undefined,
): ServiceSpec {
    return {
        type: serviceType,
        selector,
        ports: [
            {
                name: CONTAINER_PORT_NAME,
                port,
                targetPort: CONTAINER_PORT_NAME,
                protocol: "TCP",
                nodePort: pulumi.all([serviceType, nodePort]).apply(([type, p]) => (type === "NodePort" ? p : undefined)),
            },
        ],
    };
}

/** Exactly one pod may be evicted at a time: drains proceed, capacity stays. */
function disruptionBudgetSpec(selector: Record<string, string>): PodDisruptionBudgetSpec {
    return { maxUnavailable: 1, selector: { matchLabels: selector }, unhealthyPodEvictionPolicy: "AlwaysAllow" };
}

/** The autoscaler that owns the Deployment's replica count, on CPU utilisation. */
function autoscalerSpec(deploymentName: string, a: AutoscalingSettings): HorizontalPodAutoscalerSpec {
    return {
        scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: deploymentName },
        minReplicas: a.minReplicas,
        maxReplicas: a.maxReplicas,
        metrics: [
            { type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: a.targetCpuUtilization } } },
        ],
    };
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
