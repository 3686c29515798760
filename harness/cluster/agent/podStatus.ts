/**
 * Pure: the status the node agent writes for a pod, from what it knows of its containers, as the
 * kubelet's status manager does (phase, conditions with their transition times, container states).
 */
import type { KubeObject } from "../kubeApi";

export type ContainerState =
    | { readonly running: { readonly startedAt: string } }
    | { readonly waiting: { readonly reason: string; readonly message?: string } }
    | {
          readonly terminated: {
              readonly exitCode: number;
              readonly reason: string;
              readonly startedAt?: string;
              readonly finishedAt: string;
          };
      };

export interface ContainerView {
    readonly name: string;
    readonly image: string;
    readonly ready: boolean;
    readonly started: boolean;
    readonly restartCount: number;
    readonly state: ContainerState;
    readonly lastState?: ContainerState;
    readonly containerId?: string;
}

export interface PodView {
    readonly podIp?: string;
    readonly hostIp: string;
    readonly startTime: string;
    /** The pod's sandbox (network namespace) exists. */
    readonly sandboxReady: boolean;
    readonly initialized: boolean;
    readonly containers: readonly ContainerView[];
    /** Terminal phase once every container ended for good (restartPolicy Never/OnFailure). */
    readonly phase?: "Succeeded" | "Failed";
}

/** A container's `containerID` names its process group leader on this machine: `a8-agent://<pid>`. */
export const CONTAINER_ID_SCHEME = "a8-agent://";

/** Pure: the pid a `containerID` written by the agent names, or undefined. */
export function pidOfContainerId(containerId: unknown): number | undefined {
    if (typeof containerId !== "string" || !containerId.startsWith(CONTAINER_ID_SCHEME)) return undefined;
    const pid = Number(containerId.slice(CONTAINER_ID_SCHEME.length));
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

type Condition = { type: string; status: "True" | "False"; reason?: string; lastTransitionTime: string; lastProbeTime: null };

/** Keeps a condition's lastTransitionTime while its status stays the same. */
function condition(previous: readonly KubeObject[], type: string, ok: boolean, now: string, reason?: string): Condition {
    const status = ok ? "True" : "False";
    const before = previous.find((c) => c.type === type);
    const lastTransitionTime =
        before && before.status === status && typeof before.lastTransitionTime === "string" ? before.lastTransitionTime : now;
    return { type, status, ...(ok || !reason ? {} : { reason }), lastTransitionTime, lastProbeTime: null };
}

function containerStatus(c: ContainerView): KubeObject {
    return {
        name: c.name,
        image: c.image,
        imageID: `a8-local://${c.image}`,
        ...(c.containerId ? { containerID: `${CONTAINER_ID_SCHEME}${c.containerId}` } : {}),
        ready: c.ready,
        started: c.started,
        restartCount: c.restartCount,
        state: c.state,
        lastState: c.lastState ?? {},
    };
}

/** The pod's `status`, keeping the transition times of `previous` (the status the API server holds). */
export function podStatus(view: PodView, previous: KubeObject | undefined, now: string): KubeObject {
    const before = (previous?.conditions ?? []) as KubeObject[];
    const allReady = view.containers.length > 0 && view.containers.every((c) => c.ready);
    const phase = view.phase ?? (view.containers.some((c) => "running" in c.state || c.restartCount > 0) ? "Running" : "Pending");
    return {
        phase,
        hostIP: view.hostIp,
        hostIPs: [{ ip: view.hostIp }],
        ...(view.podIp ? { podIP: view.podIp, podIPs: [{ ip: view.podIp }] } : {}),
        startTime: view.startTime,
        qosClass: previous?.qosClass,
        conditions: [
            condition(before, "PodReadyToStartContainers", view.sandboxReady, now),
            condition(before, "Initialized", view.initialized, now, "ContainersNotInitialized"),
            condition(before, "ContainersReady", allReady, now, "ContainersNotReady"),
            condition(before, "Ready", allReady, now, "ContainersNotReady"),
            condition(before, "PodScheduled", true, now),
        ],
        containerStatuses: view.containers.map(containerStatus),
    };
}
