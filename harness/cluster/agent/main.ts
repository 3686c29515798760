/**
 * The node agent: run inside the cluster's network namespace by harness/cluster/testCluster.ts, it
 * plays the kubelet of every Node it registers (status, lease, the pods bound to it: pod.ts), the
 * volume provisioner of the `standard` StorageClass (a folder per PersistentVolume, pinned to the
 * node the scheduler chose), kube-proxy, a load-balancer controller and the cluster DNS
 * (services.ts, dns.ts).
 *
 *   node agent/main.ts <config.json>   (AgentConfig; stops its pods on SIGTERM)
 */
import * as fs from "fs";
import * as path from "path";
import { ApiCredentials, ApiError, KubeApi, KubeObject } from "../kubeApi";
import { CLUSTER_NETWORK, STORAGE_CLASS } from "../controlPlane";
import { DnsServer } from "./dns";
import { ImageStore } from "./images";
import { PodRuntime } from "./pod";
import { ip } from "../../loopback/netns";
import { ServiceProxy, dnsRecords, forwardsOf, loadBalancerAssignments } from "./services";

export interface AgentNode {
    readonly name: string;
    readonly zone: string;
    readonly address: string;
}

export interface AgentConfig {
    readonly credentials: ApiCredentials;
    readonly dir: string;
    readonly nodes: readonly AgentNode[];
    readonly kubernetesVersion: string;
}

const SYNC_INTERVAL_MS = 1_000;
const LEASE_RENEW_MS = 10_000;
const LEASE_SECONDS = 40;
const SELECTED_NODE = "volume.kubernetes.io/selected-node";
const PROVISIONER_ANNOTATION = "volume.kubernetes.io/storage-provisioner";
const PV_DIR_ANNOTATION = "a8.test/host-path";

const log = (msg: string): void => {
    process.stderr.write(`${new Date().toISOString()} ${msg}\n`);
};

const microTime = (): string => new Date().toISOString().replace(/Z$/, "000Z");
const nowIso = (): string => new Date().toISOString().replace(/\.\d+Z$/, "Z");

/** Pure: the Node object the agent registers. */
export function nodeObject(node: AgentNode): KubeObject {
    return {
        apiVersion: "v1",
        kind: "Node",
        metadata: {
            name: node.name,
            labels: {
                "kubernetes.io/hostname": node.name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "topology.kubernetes.io/zone": node.zone,
                "topology.kubernetes.io/region": "a8-test",
            },
        },
        spec: {},
    };
}

/** Pure: the Node's status (what a kubelet reports), Ready. */
export function nodeStatus(node: AgentNode, kubernetesVersion: string, now: string, previous?: KubeObject): KubeObject {
    const before = (previous?.conditions ?? []).find((c: KubeObject) => c.type === "Ready");
    const capacity = { cpu: "8", memory: "32Gi", pods: "110", "ephemeral-storage": "100Gi" };
    const ok = (type: string, status: "True" | "False", reason: string): KubeObject => ({
        type,
        status,
        reason,
        lastHeartbeatTime: now,
        lastTransitionTime: type === "Ready" && before?.status === status ? before.lastTransitionTime : now,
    });
    return {
        capacity,
        allocatable: capacity,
        conditions: [
            ok("MemoryPressure", "False", "KubeletHasSufficientMemory"),
            ok("DiskPressure", "False", "KubeletHasNoDiskPressure"),
            ok("PIDPressure", "False", "KubeletHasSufficientPID"),
            ok("Ready", "True", "KubeletReady"),
        ],
        addresses: [
            { type: "InternalIP", address: node.address },
            { type: "Hostname", address: node.name },
        ],
        daemonEndpoints: { kubeletEndpoint: { Port: CLUSTER_NETWORK.kubeletPort } },
        nodeInfo: {
            machineID: node.name,
            systemUUID: node.name,
            bootID: node.name,
            kernelVersion: "",
            osImage: "a8 node agent",
            containerRuntimeVersion: "a8-agent://1",
            kubeletVersion: kubernetesVersion,
            kubeProxyVersion: kubernetesVersion,
            operatingSystem: "linux",
            architecture: "amd64",
        },
    };
}

/** Pure: the PersistentVolume that satisfies a claim on a node. */
export function volumeFor(pvc: KubeObject, node: string, dir: string): KubeObject {
    return {
        apiVersion: "v1",
        kind: "PersistentVolume",
        metadata: {
            name: `pvc-${pvc.metadata.uid}`,
            annotations: { "pv.kubernetes.io/provisioned-by": STORAGE_CLASS.provisioner, [PV_DIR_ANNOTATION]: dir },
        },
        spec: {
            capacity: { storage: pvc.spec.resources?.requests?.storage ?? "1Gi" },
            accessModes: pvc.spec.accessModes ?? ["ReadWriteOnce"],
            persistentVolumeReclaimPolicy: "Delete",
            storageClassName: STORAGE_CLASS.name,
            volumeMode: "Filesystem",
            claimRef: {
                apiVersion: "v1",
                kind: "PersistentVolumeClaim",
                namespace: pvc.metadata.namespace,
                name: pvc.metadata.name,
                uid: pvc.metadata.uid,
            },
            local: { path: dir },
            nodeAffinity: {
                required: {
                    nodeSelectorTerms: [{ matchExpressions: [{ key: "kubernetes.io/hostname", operator: "In", values: [node] }] }],
                },
            },
        },
    };
}

class NodeAgent {
    private readonly pods = new Map<string, PodRuntime>();
    /** Pods whose processes are being stopped (their grace period), by uid. */
    private readonly terminating = new Set<string>();
    private readonly ipsInUse = new Set<string>();
    /** The host number of the address last given on each node. */
    private readonly lastHost = new Map<string, number>();
    private readonly podCidrs = new Map<string, string>();
    private readonly images: ImageStore;
    private readonly proxy = new ServiceProxy(log);
    private readonly dns = new DnsServer(log);
    private stopping = false;
    private readonly nodeNames: Set<string>;

    constructor(
        private readonly api: KubeApi,
        private readonly config: AgentConfig,
    ) {
        this.images = new ImageStore(path.join(config.dir, "images"));
        this.nodeNames = new Set(config.nodes.map((n) => n.name));
    }

    async registerNodes(): Promise<void> {
        for (const node of this.config.nodes) {
            if (!(await this.api.find(`/api/v1/nodes/${node.name}`))) await this.api.create("/api/v1/nodes", nodeObject(node));
            await this.heartbeat(node);
        }
    }

    private async heartbeat(node: AgentNode): Promise<void> {
        const current = await this.api.get(`/api/v1/nodes/${node.name}`);
        if (current.spec?.podCIDR) this.podCidrs.set(node.name, current.spec.podCIDR);
        await this.api.mergePatch(`/api/v1/nodes/${node.name}/status`, {
            status: nodeStatus(node, this.config.kubernetesVersion, nowIso(), current.status),
        });
        const leasePath = `/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${node.name}`;
        const spec = { holderIdentity: node.name, leaseDurationSeconds: LEASE_SECONDS, renewTime: microTime() };
        if (await this.api.find(leasePath)) {
            await this.api.mergePatch(leasePath, { spec });
        } else {
            await this.api.create("/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases", {
                apiVersion: "coordination.k8s.io/v1",
                kind: "Lease",
                metadata: {
                    name: node.name,
                    ownerReferences: [{ apiVersion: "v1", kind: "Node", name: node.name, uid: current.metadata.uid }],
                },
                spec,
            });
        }
    }

    /** The next free address after the last one given, as host-local IPAM allocates: a released address is not reused at once. */
    private allocateIp(nodeName: string): { ip: string; index: number } {
        const cidr = this.podCidrs.get(nodeName);
        if (!cidr) throw new Error(`node ${nodeName} has no podCIDR yet`);
        const [base] = cidr.split("/");
        const octets = base.split(".").map(Number);
        const first = 2;
        const count = 253;
        const last = this.lastHost.get(nodeName) ?? first - 1;
        for (let step = 1; step <= count; step++) {
            const host = first + ((last - first + step) % count);
            const candidate = `${octets[0]}.${octets[1]}.${octets[2]}.${host}`;
            if (!this.ipsInUse.has(candidate)) {
                this.ipsInUse.add(candidate);
                this.lastHost.set(nodeName, host);
                return { ip: candidate, index: octets[2] * 256 + host };
            }
        }
        throw new Error(`node ${nodeName}: no free pod address in ${cidr}`);
    }

    private forgetNeighbour(address: string): void {
        const namespaces = [...this.pods.values()].map((p) => p.networkNamespace);
        for (const ns of [undefined, ...namespaces]) {
            try {
                ip(...(ns ? ["-n", ns] : []), "neigh", "flush", "to", address);
            } catch (e) {
                log(`agent: neighbour ${address}${ns ? ` in ${ns}` : ""}: ${(e as Error).message}`);
            }
        }
    }

    private async syncPods(): Promise<void> {
        const pods = (await this.api.list("/api/v1/pods")).filter((p) => this.nodeNames.has(p.spec?.nodeName));
        const seen = new Set<string>();
        for (const pod of pods) {
            const uid: string = pod.metadata.uid;
            seen.add(uid);
            let runtime = this.pods.get(uid);
            if (pod.metadata.deletionTimestamp) {
                // Still stopping within its grace period: the pod object stays until its processes are gone.
                if (this.terminating.has(uid)) continue;
                if (runtime) {
                    this.pods.delete(uid);
                    this.terminating.add(uid);
                    void this.terminate(runtime, pod.metadata.deletionGracePeriodSeconds ?? 30)
                        .catch((e: Error) => log(`pod ${runtime?.namespace}/${runtime?.name}: ${e.message}`))
                        .finally(() => this.terminating.delete(uid));
                } else {
                    await this.api.delete(`/api/v1/namespaces/${pod.metadata.namespace}/pods/${pod.metadata.name}`, {
                        gracePeriodSeconds: 0,
                        preconditions: { uid },
                    });
                }
                continue;
            }
            if (runtime || this.stopping) continue;
            const node = this.config.nodes.find((n) => n.name === pod.spec.nodeName) as AgentNode;
            if (!this.podCidrs.has(node.name)) continue;
            runtime = new PodRuntime(pod, {
                api: this.api,
                images: this.images,
                nodeAddress: node.address,
                dir: path.join(this.config.dir, "pods", `${pod.metadata.namespace}_${pod.metadata.name}_${uid}`),
                allocateIp: () => this.allocateIp(node.name),
                releaseIp: (ip) => this.ipsInUse.delete(ip),
                forgetNeighbour: (ip) => this.forgetNeighbour(ip),
                volumeDirOf: (pv) => (pv.metadata?.annotations?.[PV_DIR_ANNOTATION] as string | undefined) ?? undefined,
                log,
            });
            this.pods.set(uid, runtime);
            log(`pod ${pod.metadata.namespace}/${pod.metadata.name} on ${node.name}: starting`);
            const started = runtime;
            void started.start().catch((e: Error) => log(`pod ${started.namespace}/${started.name}: start: ${e.message}`));
        }
        // Pods removed without grace (force delete): stop what runs.
        for (const [uid, runtime] of this.pods) {
            if (!seen.has(uid)) {
                this.pods.delete(uid);
                void runtime.stop(0).catch((e: Error) => log(`pod ${runtime.namespace}/${runtime.name}: stop: ${e.message}`));
            }
        }
    }

    private async terminate(runtime: PodRuntime, graceSeconds: number): Promise<void> {
        log(`pod ${runtime.namespace}/${runtime.name}: stopping (grace ${graceSeconds}s)`);
        await runtime.stop(graceSeconds);
        try {
            await this.api.delete(`/api/v1/namespaces/${runtime.namespace}/pods/${runtime.name}`, {
                gracePeriodSeconds: 0,
                preconditions: { uid: runtime.uid },
            });
        } catch (e) {
            // 409: the pod of that name is a new one (this one was force-deleted meanwhile): nothing left to do.
            if (!(e instanceof ApiError && e.status === 409)) throw e;
        }
    }

    /** Claims of the `standard` class that the scheduler placed on one of our nodes get a volume. */
    private async provision(): Promise<void> {
        for (const pvc of await this.api.list("/api/v1/persistentvolumeclaims")) {
            const annotations = pvc.metadata.annotations ?? {};
            const node = annotations[SELECTED_NODE];
            if (pvc.spec.volumeName || annotations[PROVISIONER_ANNOTATION] !== STORAGE_CLASS.provisioner || !this.nodeNames.has(node))
                continue;
            const dir = path.join(this.config.dir, "volumes", node, `${pvc.metadata.namespace}_${pvc.metadata.name}_${pvc.metadata.uid}`);
            fs.mkdirSync(dir, { recursive: true });
            try {
                await this.api.create("/api/v1/persistentvolumes", volumeFor(pvc, node, dir));
                log(`volume for ${pvc.metadata.namespace}/${pvc.metadata.name} on ${node}: ${dir}`);
            } catch (e) {
                if (!(e instanceof ApiError && e.status === 409)) throw e;
            }
        }
        // reclaimPolicy Delete: a released volume of ours goes, with its folder.
        for (const pv of await this.api.list("/api/v1/persistentvolumes")) {
            const dir = pv.metadata.annotations?.[PV_DIR_ANNOTATION];
            if (!dir || pv.status?.phase !== "Released" || pv.spec.persistentVolumeReclaimPolicy !== "Delete") continue;
            fs.rmSync(dir, { recursive: true, force: true });
            await this.api.delete(`/api/v1/persistentvolumes/${pv.metadata.name}`);
        }
    }

    private async syncServices(): Promise<void> {
        const [services, slices] = await Promise.all([
            this.api.list("/api/v1/services"),
            this.api.list("/apis/discovery.k8s.io/v1/endpointslices"),
        ]);
        for (const [id, address] of loadBalancerAssignments(services, CLUSTER_NETWORK.loadBalancerRange)) {
            const [namespace, name] = id.split("/");
            const status = { loadBalancer: { ingress: [{ ip: address, ipMode: "VIP" }] } };
            await this.api.mergePatch(`/api/v1/namespaces/${namespace}/services/${name}/status`, { status });
            const svc = services.find((s) => s.metadata.namespace === namespace && s.metadata.name === name) as KubeObject;
            svc.status = status;
            log(`service ${id}: load balancer ${address}`);
        }
        this.proxy.update(
            forwardsOf(
                services,
                slices,
                this.config.nodes.map((n) => n.address),
            ),
        );
        this.dns.update(dnsRecords(services, slices));
    }

    async run(): Promise<void> {
        await this.dns.listen(CLUSTER_NETWORK.dnsServiceIp);
        await this.registerNodes();
        let lastBeat = Date.now();
        log(`agent: ${this.config.nodes.length} nodes registered`);
        while (!this.stopping) {
            const started = Date.now();
            for (const [what, step] of [
                ["pods", () => this.syncPods()],
                ["volumes", () => this.provision()],
                ["services", () => this.syncServices()],
            ] as const) {
                try {
                    await step();
                } catch (e) {
                    log(`agent: ${what}: ${(e as Error).message}`);
                }
            }
            if (Date.now() - lastBeat >= LEASE_RENEW_MS) {
                lastBeat = Date.now();
                for (const node of this.config.nodes)
                    await this.heartbeat(node).catch((e: Error) => log(`agent: heartbeat ${node.name}: ${e.message}`));
            }
            await new Promise((r) => setTimeout(r, Math.max(0, SYNC_INTERVAL_MS - (Date.now() - started))));
        }
    }

    async stop(): Promise<void> {
        this.stopping = true;
        await Promise.all([...this.pods.values()].map((p) => p.stop(5)));
        this.proxy.close();
        this.dns.close();
    }
}

async function main(): Promise<void> {
    const config = JSON.parse(fs.readFileSync(process.argv[2], "utf8")) as AgentConfig;
    const api = new KubeApi(config.credentials);
    const agent = new NodeAgent(api, config);
    let stopping = false;
    const stop = (): void => {
        if (stopping) return;
        stopping = true;
        void agent.stop().finally(() => process.exit(0));
    };
    process.on("SIGTERM", stop);
    process.on("SIGINT", stop);
    await agent.run();
}

if (require.main === module) {
    main().catch((e: Error) => {
        log(`agent: ${e.stack ?? e.message}`);
        process.exit(1);
    });
}
