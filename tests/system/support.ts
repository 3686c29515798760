/**
 * Shared by the system tests: render a stack, run it on loopback, and check what must survive
 * restarts, through the real services' APIs.
 */
import { randomBytes } from "crypto";
import { Rendered, renderStack, stackConfig } from "../support/program";
import { LoopbackControlPlane, RenderedStack } from "../../tools/loopback/stack";

export async function renderedStack(
    stack: string,
    overrides: Record<string, unknown> = {},
    secretOverrides: string[] = [],
): Promise<RenderedStack & { rendered: Rendered }> {
    const rendered = await renderStack(stackConfig(stack, overrides, secretOverrides));
    return { rendered, objects: rendered.objects, outputs: rendered.run.outputs };
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

/** A rule and an instance written through the exported URLs, to be looked for after restarts. */
export interface Written {
    readonly service: string;
    readonly ruleId: string;
    readonly instanceId: string;
    readonly revision: number;
}

export async function writeRuleAndInstance(plane: LoopbackControlPlane): Promise<Written> {
    const { target } = plane;
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

/** What is missing, as seen through every started replica; empty when everything is there. */
export async function missingAfterRestart(plane: LoopbackControlPlane, w: Written, what: { instances: boolean }): Promise<string[]> {
    const problems: string[] = [];
    for (const c of plane.controllers) {
        try {
            const r = await call("GET", `${c.url}/v1/rules?destination=${w.service}`, plane.target.token);
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
                const r = await call("GET", `${g.url}/api/v1/services/${w.service}`, plane.target.token);
                if (!(r.body?.instances ?? []).some((x: { id: string }) => x.id === w.instanceId))
                    problems.push(`${g.url}: instance ${w.instanceId} is gone (HTTP ${r.status})`);
            } catch (e) {
                problems.push(`${g.url}: ${(e as Error).message}`);
            }
        }
    }
    return problems;
}

export async function removeWritten(plane: LoopbackControlPlane, w: Written): Promise<void> {
    await Promise.allSettled([
        call("DELETE", `${plane.target.controllerUrl}/v1/rules?id=${w.ruleId}`, plane.target.token),
        call("DELETE", `${plane.target.registryUrl}/api/v1/instances/${w.instanceId}`, plane.target.token),
    ]);
}

/** SIGKILL every service and start it again (in parallel), then wait until each is Ready. */
export async function restartServices(plane: LoopbackControlPlane): Promise<void> {
    await Promise.all([...plane.controllers, ...plane.registries].map((s) => s.restart()));
    await plane.waitReady();
}
