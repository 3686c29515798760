/** Kubernetes recommended labels. Pure, so selectors and policies agree on one definition. */

export const PART_OF = "amalgam8";

export interface WorkloadIdentity {
    /** `app.kubernetes.io/name`: what runs (controller, registry, redis, ...). */
    readonly name: string;
    /** `app.kubernetes.io/instance`: which control plane it belongs to. */
    readonly instance: string;
    /** `app.kubernetes.io/component`: the role it plays. */
    readonly component: string;
    /** `app.kubernetes.io/version`: the pinned image tag. */
    readonly version?: string;
}

/** The immutable subset used by selectors: never include the version, or upgrades break them. */
export function selectorLabels(id: Pick<WorkloadIdentity, "name" | "instance">): Record<string, string> {
    return {
        "app.kubernetes.io/name": id.name,
        "app.kubernetes.io/instance": id.instance,
    };
}

export function standardLabels(id: WorkloadIdentity): Record<string, string> {
    return {
        ...selectorLabels(id),
        "app.kubernetes.io/component": id.component,
        "app.kubernetes.io/part-of": PART_OF,
        "app.kubernetes.io/managed-by": "pulumi",
        ...(id.version ? { "app.kubernetes.io/version": id.version } : {}),
    };
}
