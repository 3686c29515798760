/**
 * Addresses inside a network namespace (a test cluster's pod IPs and Service ClusterIPs, a partition
 * lab member's ports) reached from this machine's 127.0.0.1, as `kubectl port-forward` gives a user
 * one pod: a relay inside the namespace and one outside, joined by unix sockets, one route per
 * address. The namespace stays unrouted from this machine, and no partition inside it cuts a route.
 */
import * as fs from "fs";
import * as path from "path";
import { Endpoint, ManagedProcess, freePorts } from "../../cli/process";
import { startRelay } from "./sandbox";

export interface Portal {
    /** `http://127.0.0.1:<port>` for each address, in order. */
    readonly urls: readonly string[];
    /** The same routes as 127.0.0.1 endpoints. */
    readonly endpoints: readonly Endpoint[];
    close(): Promise<void>;
}

let opened = 0;

/** Opens one route per address from 127.0.0.1 into a network namespace (`netnsPath`). */
export async function openPortal(netnsPath: string, dir: string, addresses: readonly Endpoint[]): Promise<Portal> {
    const id = `portal-${process.pid}-${++opened}`;
    const sockets = addresses.map((_, i) => path.join(dir, `${id}-${i}.sock`));
    const ports = await freePorts(addresses.length);
    const logFile = path.join(dir, `${id}.log`);
    const relays: ManagedProcess[] = [];
    const close = async (): Promise<void> => {
        for (const r of relays.reverse()) await r.stop(2_000);
        for (const s of sockets) fs.rmSync(s, { force: true });
    };
    try {
        relays.push(
            await startRelay(
                `${id}/inside`,
                addresses.map((a, i) => ({ listen: { path: sockets[i] }, connect: { host: a.host, port: a.port } })),
                logFile,
                netnsPath,
            ),
        );
        relays.push(
            await startRelay(
                `${id}/host`,
                ports.map((port, i) => ({ listen: { host: "127.0.0.1", port }, connect: { path: sockets[i] } })),
                logFile,
            ),
        );
    } catch (e) {
        await close();
        throw e;
    }
    return { urls: ports.map((p) => `http://127.0.0.1:${p}`), endpoints: ports.map((port) => ({ host: "127.0.0.1", port })), close };
}
