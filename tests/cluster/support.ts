/**
 * Shared by the cluster tests: a rule and an instance written through a stack's Services, and what
 * of them every replica still answers after pods or Redis went away.
 */
import { randomBytes } from "crypto";
import type { KubeApi, KubeObject } from "../../harness/cluster/kubeApi";
import { waitFor } from "../../cli/process";
import type { JourneyTarget } from "../../cli/smoke/journey";

/** The Services and each replica of a control plane (harness/cluster/stackPlane.ts has one). */
export interface Replicas {
    readonly target: JourneyTarget;
    readonly controllers: readonly { readonly url: string }[];
    readonly registries: readonly { readonly url: string }[];
}

async function call(method: string, url: string, token: string | undefined, body?: unknown): Promise<{ status: number; body: any }> {
    const headers: Record<string, string> = {};
    if (body !== undefined) headers["content-type"] = "application/json";
    if (token !== undefined) {
        headers.authorization = `Bearer ${token}`;
        // The controller serves an admin token in the tenant this header names (see journey.ts).
        headers["A8-Namespace"] = String(JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString()).namespace);
    }
    const res = await fetch(url, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(5000),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

/** A rule and an instance written through the Services, to be looked for after restarts. */
export interface Written {
    readonly service: string;
    readonly ruleId: string;
    readonly instanceId: string;
    readonly revision: number;
}

export async function writeRuleAndInstance(target: JourneyTarget): Promise<Written> {
    const service = `restart-${randomBytes(4).toString("hex")}`;
    const reg = await call("POST", `${target.registryUrl}/api/v1/instances`, target.token, {
        service_name: service,
        endpoint: { type: "http", value: "192.0.2.50:9080" },
        ttl: 300,
    });
    if (reg.status !== 201) throw new Error(`registering an instance: HTTP ${reg.status} ${JSON.stringify(reg.body)}`);
    const rule = await call("POST", `${target.controllerUrl}/v1/rules`, target.token, {
        rules: [{ destination: service, route: { backends: [{ tags: ["v1"] }] } }],
    });
    if (rule.status !== 201) throw new Error(`creating a rule: HTTP ${rule.status} ${JSON.stringify(rule.body)}`);
    const rev = await call("GET", `${target.controllerUrl}/v1/rules`, target.token);
    return { service, ruleId: rule.body.ids[0], instanceId: reg.body.id, revision: Number(rev.body?.revision) };
}

/** What is missing, as seen through every replica; empty when everything is there. */
export async function missingAfterRestart(plane: Replicas, w: Written, what: { instances: boolean }): Promise<string[]> {
    const problems: string[] = [];
    const token = plane.target.token;
    for (const c of plane.controllers) {
        try {
            const r = await call("GET", `${c.url}/v1/rules?destination=${w.service}`, token);
            if (!(r.body?.rules ?? []).some((x: { id: string }) => x.id === w.ruleId))
                problems.push(`${c.url}: rule ${w.ruleId} is gone (HTTP ${r.status})`);
            if (!(Number(r.body?.revision) >= w.revision))
                problems.push(`${c.url}: revision went back from ${w.revision} to ${String(r.body?.revision)}`);
        } catch (e) {
            problems.push(`${c.url}: ${(e as Error).message}`);
        }
    }
    if (what.instances) {
        for (const g of plane.registries) {
            try {
                const r = await call("GET", `${g.url}/api/v1/services/${w.service}`, token);
                if (!(r.body?.instances ?? []).some((x: { id: string }) => x.id === w.instanceId))
                    problems.push(`${g.url}: instance ${w.instanceId} is gone (HTTP ${r.status})`);
            } catch (e) {
                problems.push(`${g.url}: ${(e as Error).message}`);
            }
        }
    }
    return problems;
}

export async function removeWritten(target: JourneyTarget, w: Written): Promise<void> {
    await Promise.allSettled([
        call("DELETE", `${target.controllerUrl}/v1/rules?id=${w.ruleId}`, target.token),
        call("DELETE", `${target.registryUrl}/api/v1/instances/${w.instanceId}`, target.token),
    ]);
}

/** The label selector of a Deployment or StatefulSet, as a query parameter. */
export function selectorOf(workload: KubeObject): string {
    return encodeURIComponent(
        Object.entries(workload.spec.selector.matchLabels as Record<string, string>)
            .map(([k, v]) => `${k}=${v}`)
            .join(","),
    );
}

/**
 * Deletes every pod of the workloads, as a node drain or a crash would take them, and waits until
 * each workload has its replicas Ready again on new pods only.
 */
export async function replacePods(api: KubeApi, namespace: string, workloads: readonly KubeObject[], timeoutMs: number): Promise<void> {
    const podsOf = (w: KubeObject) => api.list(`/api/v1/namespaces/${namespace}/pods?labelSelector=${selectorOf(w)}`);
    const old = new Set<string>();
    for (const w of workloads) {
        for (const pod of await podsOf(w)) {
            old.add(pod.metadata.uid);
            await api.delete(`/api/v1/namespaces/${namespace}/pods/${pod.metadata.name}`);
        }
    }
    await waitFor(
        `${workloads.map((w) => w.metadata.name).join(", ")} to be Ready again on new pods`,
        timeoutMs,
        async () => {
            for (const w of workloads) {
                const pods = await podsOf(w);
                if (pods.some((p) => old.has(p.metadata.uid))) return false;
                const ready = pods.filter((p) =>
                    (p.status?.conditions ?? []).some((c: { type: string; status: string }) => c.type === "Ready" && c.status === "True"),
                );
                if (ready.length < (w.spec.replicas ?? 1)) return false;
            }
            return true;
        },
        500,
    );
}
