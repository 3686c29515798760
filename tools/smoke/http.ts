import * as jwt from "jsonwebtoken";
import { Http, HttpAnswer } from "./ruleLedger";

/**
 * The controller serves a token whose namespace claim is "admin" in the tenant this header names
 * (400 missing_namespace_header without it); naming the token's own tenant keeps every request in
 * the tenant the sidecar journey uses.
 */
const CONTROLLER_NAMESPACE_HEADER = "A8-Namespace";

/**
 * JSON over HTTP against one base URL (a function when it can change, e.g. a restarted
 * port-forward), with a bearer token when given and a timeout per request.
 */
export function httpClient(baseUrl: string | (() => string), token: string | undefined, timeoutMs: number): Http {
    const base = typeof baseUrl === "string" ? () => baseUrl : baseUrl;
    const claims = token === undefined ? null : jwt.decode(token);
    const tenant = claims !== null && typeof claims === "object" && typeof claims.namespace === "string" ? claims.namespace : undefined;
    return async (method, path, body): Promise<HttpAnswer> => {
        const headers: Record<string, string> = { accept: "application/json" };
        if (token !== undefined) headers.authorization = `Bearer ${token}`;
        if (tenant !== undefined) headers[CONTROLLER_NAMESPACE_HEADER] = tenant;
        if (body !== undefined) headers["content-type"] = "application/json";
        let res: Response;
        try {
            res = await fetch(base() + path, {
                method,
                headers,
                body: body === undefined ? undefined : JSON.stringify(body),
                signal: AbortSignal.timeout(timeoutMs),
            });
        } catch (e) {
            const cause = (e as { cause?: { code?: string; message?: string } }).cause;
            const why = (e as Error).name === "TimeoutError" ? `no answer within ${timeoutMs} ms` : cause?.code ?? cause?.message ?? (e as Error).message;
            throw new Error(`${method} ${path}: ${why}`);
        }
        const text = await res.text().catch(() => "");
        let parsed: unknown = text;
        try {
            parsed = text === "" ? undefined : JSON.parse(text);
        } catch {
            // not JSON: keep the text
        }
        return { status: res.status, body: parsed };
    };
}
