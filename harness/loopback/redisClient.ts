/**
 * Redis clients for the loopback harness: no retries, no offline queue, every command bounded by a
 * timeout, so a dead or frozen node fails the call at once instead of queueing it.
 */
import Redis from "ioredis";
import { Endpoint } from "../../cli/process";

/** A client that connects on connect() and never reconnects by itself. */
export function connect(ep: Endpoint, password: string, timeoutMs = 1000): Redis {
    const c = new Redis({
        host: ep.host,
        port: ep.port,
        password,
        lazyConnect: true,
        enableOfflineQueue: false,
        enableReadyCheck: false,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
        autoResubscribe: false,
        autoResendUnfulfilledCommands: false,
        connectTimeout: timeoutMs,
        commandTimeout: timeoutMs,
    });
    c.on("error", () => undefined);
    return c;
}

/** One command on a short-lived connection. */
export async function command(ep: Endpoint, password: string, args: string[], timeoutMs = 1000): Promise<unknown> {
    const c = connect(ep, password, timeoutMs);
    try {
        await c.connect();
        return await c.call(args[0], ...args.slice(1));
    } finally {
        c.disconnect();
    }
}

export function parseInfo(text: unknown): Record<string, string> {
    const out: Record<string, string> = {};
    if (typeof text !== "string") return out;
    for (const line of text.split(/\r?\n/)) {
        const i = line.indexOf(":");
        if (i > 0 && !line.startsWith("#")) out[line.slice(0, i)] = line.slice(i + 1);
    }
    return out;
}

/** A flat `[field, value, field, value, ...]` reply (e.g. SENTINEL MASTER) as a record. */
export function replyFields(reply: unknown[]): Record<string, string> {
    const out: Record<string, string> = {};
    for (let i = 0; i + 1 < reply.length; i += 2) out[String(reply[i])] = String(reply[i + 1]);
    return out;
}
