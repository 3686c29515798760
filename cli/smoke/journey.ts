/**
 * The sidecar journey: what an Amalgam8 sidecar does against the control plane, step by step,
 * through the URLs it is given. Shared by the system tests and the operator's smoke command.
 * Everything it creates (instances, a rule) is tagged with the run id and removed at the end,
 * also when a step fails; every request has a timeout.
 */
import { randomBytes } from "crypto";
import * as jwt from "jsonwebtoken";
import { JsonAnswer, requestJson } from "./http";

export interface JourneyTarget {
    readonly controllerUrl: string;
    readonly registryUrl: string;
    /** JWT accepted by both services when auth is on (sent as Authorization: Bearer). */
    readonly token?: string;
    /** Other replicas' URLs: what one replica wrote must be visible through these. */
    readonly peerControllerUrls?: readonly string[];
    readonly peerRegistryUrls?: readonly string[];
}

export interface JourneyStep {
    readonly name: string;
    readonly ok: boolean;
    readonly detail: string;
    readonly ms: number;
}

export interface JourneyReport {
    readonly ok: boolean;
    readonly steps: readonly JourneyStep[];
}

export interface JourneyOptions {
    /** Bound on the whole journey, cleanup included (default 30 s). */
    readonly timeoutMs?: number;
    /** Names what the journey creates; default: random. */
    readonly runId?: string;
}

const INSTANCES = 2;
const MAX_REQUEST_MS = 5000;
/** The rule and instance TTL are short so that leftovers of a killed run expire on their own. */
const INSTANCE_TTL_S = 60;

class StepFailed extends Error {}

type Response = JsonAnswer;

function claimsOf(token: string): jwt.JwtPayload {
    const claims = jwt.decode(token);
    if (claims === null || typeof claims !== "object") throw new Error("the token is not a JWT with a claims object");
    return claims;
}

/** The claims of `token` signed with a random secret: what the services must refuse. */
function forgedToken(token: string): string {
    const claims = claimsOf(token);
    return jwt.sign(claims, randomBytes(32).toString("hex"), { algorithm: "HS256", noTimestamp: !("iat" in claims) });
}

export async function runSidecarJourney(target: JourneyTarget, options: JourneyOptions = {}): Promise<JourneyReport> {
    const deadline = Date.now() + (options.timeoutMs ?? 30000);
    const runId = options.runId ?? `j${Date.now().toString(36)}${randomBytes(3).toString("hex")}`;
    const serviceName = `journey-${runId}`;
    const steps: JourneyStep[] = [];
    const strip = (url: string): string => url.replace(/\/+$/, "");

    // A JWT names its tenant; a trusted-mode token is the tenant itself and gets no forged twin.
    const claims = target.token === undefined ? null : jwt.decode(target.token);
    const isJwt = claims !== null && typeof claims === "object";
    let until = deadline;
    const request = async (method: string, url: string, body?: unknown, token: string | undefined = target.token): Promise<Response> => {
        const remaining = until - Date.now();
        if (remaining <= 0) throw new StepFailed(`${method} ${url}: the journey ran out of time`);
        try {
            return await requestJson(method, url, { body, token, timeoutMs: Math.min(MAX_REQUEST_MS, remaining) });
        } catch (e) {
            throw new StepFailed((e as Error).message);
        }
    };
    const expectStatus = (what: string, res: Response, ...allowed: number[]): void => {
        if (!allowed.includes(res.status)) throw new StepFailed(`${what}: HTTP ${res.status} ${res.text.slice(0, 200).trim()}`);
    };
    const step = async (name: string, body: () => Promise<string>): Promise<void> => {
        const t0 = Date.now();
        try {
            steps.push({ name, ok: true, detail: await body(), ms: Date.now() - t0 });
        } catch (e) {
            steps.push({ name, ok: false, detail: e instanceof Error ? e.message : String(e), ms: Date.now() - t0 });
            throw new StepFailed(name);
        }
    };

    const registry = strip(target.registryUrl);
    const controller = strip(target.controllerUrl);
    const peerRegistries = (target.peerRegistryUrls ?? []).map(strip);
    const peerControllers = (target.peerControllerUrls ?? []).map(strip);
    const instanceIds: string[] = [];
    let ruleId: string | undefined;
    let ruleDeleted = false;

    const serviceInstances = async (base: string): Promise<string[]> => {
        const res = await request("GET", `${base}/api/v1/services/${serviceName}`);
        expectStatus(`GET ${base}/api/v1/services/${serviceName}`, res, 200);
        return (res.body?.instances ?? []).map((i: { id: string }) => i.id);
    };
    const rules = async (base: string, query: string): Promise<{ rules: any[]; revision: number }> => {
        const res = await request("GET", `${base}/v1/rules?${query}`);
        expectStatus(`GET ${base}/v1/rules?${query}`, res, 200);
        return { rules: res.body?.rules ?? [], revision: Number(res.body?.revision) };
    };
    const rulesById = (base: string, id: string) => rules(base, `id=${encodeURIComponent(id)}`);
    // Upstream answers 500 to ?id= of a rule that does not exist: ask by destination instead.
    const rulesOfService = (base: string) => rules(base, `destination=${encodeURIComponent(serviceName)}`);
    const revision = async (): Promise<number> => {
        const res = await request("GET", `${controller}/v1/rules`);
        expectStatus(`GET ${controller}/v1/rules`, res, 200);
        const r = Number(res.body?.revision);
        if (!Number.isInteger(r)) throw new StepFailed(`GET ${controller}/v1/rules: no revision in ${res.text.slice(0, 200)}`);
        return r;
    };

    try {
        await step("registry: register instances", async () => {
            for (let i = 0; i < INSTANCES; i++) {
                const res = await request("POST", `${registry}/api/v1/instances`, {
                    service_name: serviceName,
                    // Documentation addresses (RFC 5737): registered, never contacted.
                    endpoint: { type: "http", value: `192.0.2.${i + 1}:9080` },
                    ttl: INSTANCE_TTL_S,
                    tags: [runId, `v${i + 1}`],
                });
                expectStatus("POST /api/v1/instances", res, 201);
                if (typeof res.body?.id !== "string") throw new StepFailed(`POST /api/v1/instances: no id in ${res.text.slice(0, 200)}`);
                instanceIds.push(res.body.id);
            }
            return `${INSTANCES} instances of ${serviceName}: ${instanceIds.join(", ")}`;
        });

        await step("registry: heartbeat", async () => {
            for (const id of instanceIds)
                expectStatus(`PUT heartbeat of ${id}`, await request("PUT", `${registry}/api/v1/instances/${id}/heartbeat`), 200);
            return `${instanceIds.length} heartbeats accepted`;
        });

        await step("registry: list services and instances", async () => {
            const services = await request("GET", `${registry}/api/v1/services`);
            expectStatus("GET /api/v1/services", services, 200);
            if (!(services.body?.services ?? []).includes(serviceName))
                throw new StepFailed(`GET /api/v1/services does not list ${serviceName}: ${services.text.slice(0, 200)}`);
            const listed = await request("GET", `${registry}/api/v1/instances?service_name=${serviceName}`);
            expectStatus("GET /api/v1/instances", listed, 200);
            const ids = (listed.body?.instances ?? []).map((i: { id: string }) => i.id);
            const missing = instanceIds.filter((id) => !ids.includes(id));
            if (missing.length > 0) throw new StepFailed(`GET /api/v1/instances lacks ${missing.join(", ")}: ${listed.text.slice(0, 200)}`);
            return `${serviceName} listed with its ${ids.length} instances`;
        });

        if (peerRegistries.length > 0) {
            await step("registry: instances seen from the other replicas", async () => {
                for (const peer of peerRegistries) {
                    const ids = await serviceInstances(peer);
                    const missing = instanceIds.filter((id) => !ids.includes(id));
                    if (missing.length > 0) throw new StepFailed(`${peer} does not list ${missing.join(", ")} of ${serviceName}`);
                }
                return `all ${instanceIds.length} instances listed by ${peerRegistries.length} other replica(s)`;
            });
        }

        let revisionBefore = 0;
        let revisionCreated = 0;
        await step("controller: create a routing rule", async () => {
            revisionBefore = await revision();
            const res = await request("POST", `${controller}/v1/rules`, {
                rules: [{ destination: serviceName, priority: 1, tags: [runId], route: { backends: [{ tags: ["v1"] }] } }],
            });
            expectStatus("POST /v1/rules", res, 201);
            ruleId = res.body?.ids?.[0];
            if (typeof ruleId !== "string") throw new StepFailed(`POST /v1/rules: no id in ${res.text.slice(0, 200)}`);
            return `rule ${ruleId} for ${serviceName}`;
        });

        await step("controller: read the rule", async () => {
            const got = await rulesById(controller, ruleId as string);
            if (got.rules.length !== 1 || got.rules[0].destination !== serviceName)
                throw new StepFailed(`GET /v1/rules?id=${ruleId} answered ${JSON.stringify(got.rules).slice(0, 200)}`);
            if (!(got.revision > revisionBefore))
                throw new StepFailed(`the revision did not move forward (${revisionBefore} -> ${got.revision})`);
            revisionCreated = got.revision;
            return `rule read back, revision ${revisionBefore} -> ${got.revision}`;
        });

        if (peerControllers.length > 0) {
            await step("controller: rule seen from the other replicas", async () => {
                for (const peer of peerControllers) {
                    const got = await rulesById(peer, ruleId as string);
                    if (got.rules.length !== 1) throw new StepFailed(`${peer} does not return rule ${ruleId}`);
                    if (got.revision < revisionCreated)
                        throw new StepFailed(`${peer} answers revision ${got.revision}, older than ${revisionCreated}`);
                }
                return `rule ${ruleId} returned by ${peerControllers.length} other replica(s)`;
            });
        }

        await step("controller: delete the rule", async () => {
            expectStatus(
                `DELETE /v1/rules?id=${ruleId}`,
                await request("DELETE", `${controller}/v1/rules?id=${encodeURIComponent(ruleId as string)}`),
                200,
                204,
            );
            ruleDeleted = true;
            const got = await rulesOfService(controller);
            if (got.rules.some((r) => r.id === ruleId)) throw new StepFailed(`rule ${ruleId} is still returned after DELETE`);
            if (!(got.revision > revisionCreated))
                throw new StepFailed(`the revision did not move forward on delete (${revisionCreated} -> ${got.revision})`);
            return `rule gone, revision ${revisionCreated} -> ${got.revision}`;
        });

        if (target.token !== undefined && isJwt) {
            await step("auth: a token signed with another secret is refused", async () => {
                const forged = forgedToken(target.token as string);
                const answers: string[] = [];
                for (const [name, url] of [
                    ["registry", `${registry}/api/v1/services`],
                    ["controller", `${controller}/v1/rules`],
                ]) {
                    const res = await request("GET", url, undefined, forged);
                    if (res.status !== 401 && res.status !== 403)
                        throw new StepFailed(`${name} answered ${res.status} to a token signed with another secret`);
                    answers.push(`${name} ${res.status}`);
                }
                return `forged token refused (${answers.join(", ")}); the real one was accepted by every step above`;
            });
        }
    } catch (e) {
        if (!(e instanceof StepFailed)) throw e;
    } finally {
        const cleanup = async (): Promise<string> => {
            // Its own short budget, so that it runs even when the journey ran out of time.
            until = Math.max(deadline, Date.now() + MAX_REQUEST_MS);
            const problems: string[] = [];
            const done: string[] = [];
            if (ruleId !== undefined && !ruleDeleted) {
                try {
                    const res = await request("DELETE", `${controller}/v1/rules?id=${encodeURIComponent(ruleId)}`);
                    if (res.status === 200 || res.status === 204) done.push(`rule ${ruleId} deleted`);
                    else problems.push(`DELETE rule ${ruleId}: HTTP ${res.status}`);
                } catch (e) {
                    problems.push((e as Error).message);
                }
            }
            for (const id of instanceIds) {
                try {
                    const res = await request("DELETE", `${registry}/api/v1/instances/${id}`);
                    if (res.status === 200 || res.status === 204) done.push(`instance ${id} deregistered`);
                    else problems.push(`DELETE instance ${id}: HTTP ${res.status}`);
                } catch (e) {
                    problems.push((e as Error).message);
                }
            }
            if (problems.length > 0) throw new StepFailed(problems.join("; "));
            return done.join(", ") || "nothing was created";
        };
        try {
            await step("cleanup: deregister instances, delete the rule", cleanup);
        } catch {
            // recorded as a failed step
        }
    }
    return { ok: steps.every((s) => s.ok), steps };
}
