/**
 * A deployed stack's control plane as the test cluster's API server holds it: the controller and
 * registry Services its outputs name, and each Ready pod behind them, reached from this machine
 * through a portal (portal.ts). What one replica acknowledged is checked through every other.
 */
import { targetsFromOutputs, ForwardedService } from "../../cli/smoke/stack";
import type { JourneyTarget } from "../../cli/smoke/journey";
import { KubeApi, KubeObject } from "./kubeApi";
import { Endpoint } from "../../cli/process";
import { Portal, openPortal } from "../loopback/portal";
import type { TestCluster } from "./testCluster";

export interface ReplicaUrl {
    readonly pod: string;
    readonly url: string;
}

export interface StackPlane {
    readonly namespace: string;
    /** Through the Services, as sidecars reach them. */
    readonly target: JourneyTarget;
    readonly controllers: readonly ReplicaUrl[];
    readonly registries: readonly ReplicaUrl[];
    close(): Promise<void>;
}

const ready = (pod: KubeObject): boolean =>
    !pod.metadata.deletionTimestamp &&
    (pod.status?.conditions ?? []).some((c: { type: string; status: string }) => c.type === "Ready" && c.status === "True");

/** The Service's ClusterIP and port, and its Ready pods with their target port. */
async function serviceAndPods(
    api: KubeApi,
    forwarded: ForwardedService,
): Promise<{ service: Endpoint; pods: { name: string; address: Endpoint }[] }> {
    const svc = await api.get(`/api/v1/namespaces/${forwarded.namespace}/services/${forwarded.service}`);
    const port = (svc.spec.ports as KubeObject[]).find((p) => p.port === forwarded.port);
    if (!port) throw new Error(`Service ${forwarded.service} has no port ${forwarded.port}`);
    const selector = Object.entries(svc.spec.selector as Record<string, string>)
        .map(([k, v]) => `${k}=${v}`)
        .join(",");
    const pods = (await api.list(`/api/v1/namespaces/${forwarded.namespace}/pods?labelSelector=${encodeURIComponent(selector)}`)).filter(
        ready,
    );
    const targetPort = (pod: KubeObject): number => {
        if (typeof port.targetPort === "number") return port.targetPort;
        const named = (pod.spec.containers as KubeObject[]).flatMap((c) => c.ports ?? []).find((p) => p.name === port.targetPort);
        return named?.containerPort ?? port.port;
    };
    return {
        service: { host: svc.spec.clusterIP, port: forwarded.port },
        pods: pods.map((p) => ({ name: p.metadata.name as string, address: { host: p.status.podIP as string, port: targetPort(p) } })),
    };
}

/** Reaches the stack whose `pulumi stack output --json --show-secrets` is `outputs`. */
export async function reachStackPlane(cluster: TestCluster, outputs: Record<string, unknown>): Promise<StackPlane> {
    const targets = targetsFromOutputs(outputs);
    const forwarded = (name: "controller" | "registry"): ForwardedService => {
        const reach = targets[name];
        if (reach.kind !== "port-forward") {
            // A load-balancer URL still names its Service in the in-cluster URL output.
            const url = new URL(String(outputs[`${name}Url`]));
            const [service, namespace] = url.hostname.split(".");
            return { service, namespace, port: Number(url.port) };
        }
        return reach;
    };
    const controller = await serviceAndPods(cluster.api, forwarded("controller"));
    const registry = await serviceAndPods(cluster.api, forwarded("registry"));
    const portal: Portal = await openPortal(cluster.controlPlane.netnsPath, cluster.dir, [
        controller.service,
        registry.service,
        ...controller.pods.map((p) => p.address),
        ...registry.pods.map((p) => p.address),
    ]);
    const [controllerUrl, registryUrl, ...replicaUrls] = portal.urls;
    const replicas = [...controller.pods, ...registry.pods].map((p, i) => ({ pod: p.name, url: replicaUrls[i] }));
    return {
        namespace: forwarded("controller").namespace,
        target: { controllerUrl, registryUrl, ...(targets.token !== undefined ? { token: targets.token } : {}) },
        controllers: replicas.slice(0, controller.pods.length),
        registries: replicas.slice(controller.pods.length),
        close: () => portal.close(),
    };
}
