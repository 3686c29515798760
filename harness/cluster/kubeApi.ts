/**
 * A small client of the Kubernetes API server (HTTPS with a client certificate), enough for the
 * harness and the node agent: get, list, create, patch, delete, every request bounded in time.
 */
import * as fs from "fs";
import * as https from "https";

export interface ApiCredentials {
    /** https://host:port */
    readonly server: string;
    readonly caFile: string;
    readonly certFile: string;
    readonly keyFile: string;
}

export class ApiError extends Error {
    constructor(
        message: string,
        readonly status: number,
        readonly reason?: string,
    ) {
        super(message);
    }
}

/** An object as the API server returns it. */
export type KubeObject = Record<string, any>;

const REQUEST_TIMEOUT_MS = 15_000;

export class KubeApi {
    private readonly agent: https.Agent;

    constructor(readonly credentials: ApiCredentials) {
        this.agent = new https.Agent({
            ca: fs.readFileSync(credentials.caFile),
            cert: fs.readFileSync(credentials.certFile),
            key: fs.readFileSync(credentials.keyFile),
            keepAlive: true,
            maxSockets: 8,
        });
    }

    /** One request; resolves with the parsed body, rejects with ApiError for a non-2xx answer. */
    request(
        method: string,
        path: string,
        body?: unknown,
        contentType = "application/json",
        timeoutMs = REQUEST_TIMEOUT_MS,
    ): Promise<KubeObject> {
        const url = new URL(path, this.credentials.server);
        const payload = body === undefined ? undefined : JSON.stringify(body);
        return new Promise((resolve, reject) => {
            const req = https.request(
                url,
                {
                    method,
                    agent: this.agent,
                    // Content-Length always: Node sends a DELETE's body unframed otherwise, and the
                    // API server reads it as the next request on the connection (400 from then on).
                    headers: {
                        Accept: "application/json",
                        ...(payload !== undefined ? { "Content-Type": contentType, "Content-Length": Buffer.byteLength(payload) } : {}),
                    },
                    timeout: timeoutMs,
                },
                (res) => {
                    let text = "";
                    res.setEncoding("utf8");
                    res.on("data", (d: string) => (text += d));
                    res.on("end", () => {
                        const status = res.statusCode ?? 0;
                        let parsed: KubeObject;
                        try {
                            parsed = text ? (JSON.parse(text) as KubeObject) : {};
                        } catch {
                            parsed = { message: text };
                        }
                        if (status >= 200 && status < 300) resolve(parsed);
                        else reject(new ApiError(`${method} ${url.pathname}: ${status} ${parsed.message ?? text}`, status, parsed.reason));
                    });
                },
            );
            req.on("timeout", () => req.destroy(new Error(`${method} ${url.pathname}: no answer within ${timeoutMs} ms`)));
            req.on("error", reject);
            if (payload !== undefined) req.write(payload);
            req.end();
        });
    }

    get(path: string): Promise<KubeObject> {
        return this.request("GET", path);
    }

    /** The object, or undefined when the API server has none (404). */
    async find(path: string): Promise<KubeObject | undefined> {
        try {
            return await this.get(path);
        } catch (e) {
            if (e instanceof ApiError && e.status === 404) return undefined;
            throw e;
        }
    }

    async list(path: string): Promise<KubeObject[]> {
        return ((await this.get(path)).items ?? []) as KubeObject[];
    }

    create(path: string, object: KubeObject): Promise<KubeObject> {
        return this.request("POST", path, object);
    }

    /** A JSON merge patch (lists are replaced whole). */
    mergePatch(path: string, patch: KubeObject): Promise<KubeObject> {
        return this.request("PATCH", path, patch, "application/merge-patch+json");
    }

    /** Deletes; a 404 counts as done. */
    async delete(path: string, options?: KubeObject): Promise<void> {
        try {
            await this.request("DELETE", path, options);
        } catch (e) {
            if (!(e instanceof ApiError && e.status === 404)) throw e;
        }
    }

    close(): void {
        this.agent.destroy();
    }
}
