import * as jwt from "jsonwebtoken";
import { Http, HttpAnswer } from "./ruleLedger";

/**
 * The controller serves a token whose namespace claim is "admin" in the tenant this header names
 * (400 missing_namespace_header without it); the registry has no such rule: "admin" is a tenant
 * like any other. Naming the token's own tenant keeps both services in the same one.
 */
const CONTROLLER_NAMESPACE_HEADER = "A8-Namespace";

/** The `namespace` claim of a JWT; undefined for no token or a trusted-mode token. */
function tenantOf(token: string | undefined): string | undefined {
    const claims = token === undefined ? null : jwt.decode(token);
    return claims !== null && typeof claims === "object" && typeof claims.namespace === "string" ? claims.namespace : undefined;
}

export interface JsonAnswer {
    readonly status: number;
    /** The parsed JSON body; undefined when empty or not JSON. */
    readonly body: any;
    readonly text: string;
}

/**
 * One JSON request as a sidecar makes it: bearer token and tenant header when given, no redirect
 * followed, bounded by timeoutMs. A request that gets no answer throws `<METHOD> <url>: <why>`.
 */
export async function requestJson(
    method: string,
    url: string,
    options: { body?: unknown; token?: string; timeoutMs: number },
): Promise<JsonAnswer> {
    const headers: Record<string, string> = { accept: "application/json" };
    if (options.body !== undefined) headers["content-type"] = "application/json";
    if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
    const tenant = tenantOf(options.token);
    if (tenant !== undefined) headers[CONTROLLER_NAMESPACE_HEADER] = tenant;
    let res: Response;
    try {
        res = await fetch(url, {
            method,
            headers,
            body: options.body === undefined ? undefined : JSON.stringify(options.body),
            redirect: "manual",
            signal: AbortSignal.timeout(options.timeoutMs),
        });
    } catch (e) {
        const err = e as Error;
        const why =
            err.name === "TimeoutError"
                ? `no answer within ${options.timeoutMs} ms`
                : err.cause instanceof Error
                  ? err.cause.message
                  : err.message;
        throw new Error(`${method} ${url}: ${why}`, { cause: e });
    }
    const text = await res.text().catch(() => "");
    let body: unknown;
    try {
        body = text === "" ? undefined : JSON.parse(text);
    } catch {
        body = undefined;
    }
    return { status: res.status, body, text };
}

/**
 * JSON over HTTP against one base URL (a function when it can change, e.g. a restarted
 * port-forward), with a bearer token when given and a timeout per request.
 */
export function httpClient(baseUrl: string | (() => string), token: string | undefined, timeoutMs: number): Http {
    const base = typeof baseUrl === "string" ? () => baseUrl : baseUrl;
    return async (method, path, body): Promise<HttpAnswer> => {
        const answer = await requestJson(method, base() + path, { body, token, timeoutMs });
        // Not JSON: keep the text, for the messages.
        return { status: answer.status, body: answer.body ?? (answer.text === "" ? undefined : answer.text) };
    };
}
