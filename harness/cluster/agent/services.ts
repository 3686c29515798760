/**
 * What kube-proxy (userspace mode) and the cluster DNS do, from the Services and EndpointSlices
 * the API server holds: a TCP listener on each Service's ClusterIP and port (and NodePort, on each
 * node address) that forwards every connection to one ready endpoint, round robin; and the DNS
 * names of Services and of the pods behind headless ones.
 */
import * as net from "net";
import type { KubeObject } from "../kubeApi";
import { CLUSTER_NETWORK } from "../controlPlane";

export interface Backend {
    readonly ip: string;
    readonly port: number;
}

/** One listener and the endpoints it forwards to. */
export interface Forward {
    readonly key: string;
    readonly listen: Backend;
    readonly backends: readonly Backend[];
}

/** Pure: the ready addresses and the port named `portName` in a Service's EndpointSlices. */
function readyBackends(slices: readonly KubeObject[], portName: string | undefined): Backend[] {
    const out: Backend[] = [];
    for (const slice of slices) {
        const port = (slice.ports ?? []).find((p: KubeObject) => (p.name ?? "") === (portName ?? ""));
        if (!port?.port) continue;
        for (const e of slice.endpoints ?? []) {
            if (e.conditions?.ready === false) continue;
            for (const address of e.addresses ?? []) out.push({ ip: address, port: port.port });
        }
    }
    return out;
}

/** Pure: the EndpointSlices of each Service, by `namespace/name`. */
export function slicesByService(slices: readonly KubeObject[]): Map<string, KubeObject[]> {
    const out = new Map<string, KubeObject[]>();
    for (const s of slices) {
        const svc = s.metadata?.labels?.["kubernetes.io/service-name"];
        if (!svc) continue;
        const key = `${s.metadata.namespace}/${svc}`;
        out.set(key, [...(out.get(key) ?? []), s]);
    }
    return out;
}

/** Pure: every listener the Services ask for, with their ready endpoints. */
export function forwardsOf(services: readonly KubeObject[], slices: readonly KubeObject[], nodeAddresses: readonly string[]): Forward[] {
    const byService = slicesByService(slices);
    const out: Forward[] = [];
    for (const svc of services) {
        const clusterIp = svc.spec?.clusterIP;
        if (!clusterIp || clusterIp === "None") continue;
        const id = `${svc.metadata.namespace}/${svc.metadata.name}`;
        for (const p of svc.spec.ports ?? []) {
            if ((p.protocol ?? "TCP") !== "TCP") continue;
            const backends = readyBackends(byService.get(id) ?? [], p.name);
            out.push({ key: `${clusterIp}:${p.port}`, listen: { ip: clusterIp, port: p.port }, backends });
            if (p.nodePort)
                for (const a of nodeAddresses) out.push({ key: `${a}:${p.nodePort}`, listen: { ip: a, port: p.nodePort }, backends });
            for (const ingress of svc.status?.loadBalancer?.ingress ?? []) {
                if (ingress.ip) out.push({ key: `${ingress.ip}:${p.port}`, listen: { ip: ingress.ip, port: p.port }, backends });
            }
        }
    }
    return out;
}

/**
 * Pure: the address each LoadBalancer Service still waiting for one gets, from `range` (a /24),
 * lowest free first; addresses already given stay where they are.
 */
export function loadBalancerAssignments(services: readonly KubeObject[], range: string): Map<string, string> {
    const prefix = range.split("/")[0].split(".").slice(0, 3).join(".");
    const taken = new Set<string>(services.flatMap((s) => (s.status?.loadBalancer?.ingress ?? []).map((i: KubeObject) => i.ip)));
    const out = new Map<string, string>();
    let host = 1;
    for (const svc of services) {
        if (svc.spec?.type !== "LoadBalancer" || (svc.status?.loadBalancer?.ingress ?? []).length > 0) continue;
        while (host < 255 && taken.has(`${prefix}.${host}`)) host++;
        if (host >= 255) break;
        const address = `${prefix}.${host++}`;
        out.set(`${svc.metadata.namespace}/${svc.metadata.name}`, address);
    }
    return out;
}

/** Pure: the A records of the cluster DNS (lower-case names, without the trailing dot). */
export function dnsRecords(services: readonly KubeObject[], slices: readonly KubeObject[]): Map<string, string[]> {
    const byService = slicesByService(slices);
    const records = new Map<string, string[]>();
    const add = (name: string, address: string): void => {
        const list = records.get(name) ?? [];
        if (!list.includes(address)) list.push(address);
        records.set(name, list);
    };
    for (const svc of services) {
        const ns = svc.metadata.namespace;
        const name = `${svc.metadata.name}.${ns}.svc.${CLUSTER_NETWORK.clusterDomain}`;
        const clusterIp = svc.spec?.clusterIP;
        if (clusterIp && clusterIp !== "None") {
            add(name, clusterIp);
            continue;
        }
        // Headless: the ready pods (all of them with publishNotReadyAddresses, which the slices reflect).
        for (const slice of byService.get(`${ns}/${svc.metadata.name}`) ?? []) {
            for (const e of slice.endpoints ?? []) {
                if (e.conditions?.ready === false && !svc.spec?.publishNotReadyAddresses) continue;
                for (const a of e.addresses ?? []) {
                    add(name, a);
                    if (e.hostname) add(`${e.hostname}.${name}`, a);
                }
            }
        }
    }
    return records;
}

const CONNECT_TIMEOUT_MS = 3_000;

/** The listeners of the Services, reconciled with `update`. */
export class ServiceProxy {
    private readonly listeners = new Map<string, { server: net.Server; forward: Forward; next: number }>();

    constructor(private readonly log: (msg: string) => void) {}

    update(forwards: readonly Forward[]): void {
        const wanted = new Map(forwards.map((f) => [f.key, f]));
        for (const [key, l] of this.listeners) {
            if (!wanted.has(key)) {
                l.server.close();
                this.listeners.delete(key);
            }
        }
        for (const [key, f] of wanted) {
            const existing = this.listeners.get(key);
            if (existing) {
                existing.forward = f;
                continue;
            }
            const entry = { server: net.createServer({ allowHalfOpen: true }, (c) => this.relay(entry, c)), forward: f, next: 0 };
            entry.server.on("error", (e) => this.log(`service proxy ${key}: ${e.message}`));
            entry.server.listen(f.listen.port, f.listen.ip);
            this.listeners.set(key, entry);
        }
    }

    private relay(entry: { forward: Forward; next: number }, client: net.Socket): void {
        client.pause();
        const candidates = entry.forward.backends;
        const attempt = (tries: number): void => {
            if (tries >= Math.min(3, candidates.length)) {
                client.destroy();
                return;
            }
            const b = candidates[entry.next++ % candidates.length];
            const upstream = net.connect({ host: b.ip, port: b.port, allowHalfOpen: true, timeout: CONNECT_TIMEOUT_MS });
            let connected = false;
            upstream.once("connect", () => {
                connected = true;
                upstream.setTimeout(0);
                client.pipe(upstream);
                upstream.pipe(client);
                client.resume();
            });
            const fail = (): void => {
                upstream.destroy();
                if (!connected) attempt(tries + 1);
                else client.destroy();
            };
            upstream.once("timeout", fail);
            upstream.on("error", fail);
            client.on("error", () => upstream.destroy());
        };
        attempt(0);
    }

    close(): void {
        for (const l of this.listeners.values()) l.server.close();
        this.listeners.clear();
    }
}
