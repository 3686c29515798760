/**
 * A real Kubernetes control plane for the tests: etcd, kube-apiserver (per-run certificates and
 * service-account keys, RBAC and the Node authorizer, PodSecurity admission), kube-controller-manager
 * and kube-scheduler, the binaries `npm run build:cluster` builds. All of it runs in a network
 * namespace of its own, which also holds the pod bridge; the only way in from this machine is a
 * relay on 127.0.0.1 to the API server. Each process is started and stopped by its pid, every
 * wait is bounded.
 */
import * as fs from "fs";
import * as path from "path";
import { ManagedProcess, WaitAborted, freePorts, launch, tailFile, waitFor } from "../../cli/process";
import { startRelay } from "../loopback/sandbox";
import { CLUSTER_BIN } from "./pulumiCli";
import { ApiCredentials, KubeApi } from "./kubeApi";
import { ClientIdentity, ClusterPki, generatePki } from "./pki";
import { createNetns, deleteNetns, hostLinkName, ip, ownedNetnsName, removeOrphanNetns } from "../loopback/netns";

/** The cluster's addresses, inside its network namespace; stated once, used by the agent too. */
export const CLUSTER_NETWORK = {
    /** The pod bridge's address: the pods' gateway, and where the API server is advertised. */
    bridgeAddress: "10.244.0.1",
    bridgeName: "a8br0",
    podCidr: "10.244.0.0/16",
    nodeCidrMaskSize: 24,
    serviceCidr: "10.96.0.0/16",
    /** The first address of the service range: the `kubernetes` Service. */
    kubernetesServiceIp: "10.96.0.1",
    /** Where the agent's DNS server answers for cluster names (kube-dns's conventional address). */
    dnsServiceIp: "10.96.0.10",
    /** Node addresses (one per node, in order), local to the cluster namespace. */
    nodeAddressRange: "10.245.0.0/24",
    /** Addresses the agent gives Services of type LoadBalancer (as MetalLB or k3s's ServiceLB would). */
    loadBalancerRange: "10.246.0.0/24",
    /**
     * The link from this machine into the cluster's namespace, as a LAN would be: this machine
     * routes `loadBalancerRange` over it, so load-balancer addresses answer here as they do for users.
     */
    hostLink: { hostAddress: "10.247.0.1", clusterAddress: "10.247.0.2", prefixLength: 30 },
    apiPort: 6443,
    /** Where each node serves the kubelet API (port forwarding), on its address. */
    kubeletPort: 10250,
    etcdClientPort: 2379,
    etcdPeerPort: 2380,
    clusterDomain: "cluster.local",
} as const;

/** The StorageClass the agent provisions volumes for, the cluster's default like kind's `standard`. */
export const STORAGE_CLASS = { name: "standard", provisioner: "a8.test/host-path" } as const;

/** The identities of the cluster's clients, each a client certificate of the cluster's CA. */
export const IDENTITIES = {
    admin: { file: "admin", user: "a8-test-admin", groups: ["system:masters"] },
    controllerManager: { file: "controller-manager", user: "system:kube-controller-manager", groups: [] },
    scheduler: { file: "scheduler", user: "system:kube-scheduler", groups: [] },
    // How the API server authenticates to kubelets (port forwarding), as kubeadm names it.
    apiserverKubeletClient: { file: "apiserver-kubelet-client", user: "kube-apiserver-kubelet-client", groups: [] },
    // The agent plays every node's kubelet and the volume provisioner: one identity for all of it.
    nodeAgent: { file: "node-agent", user: "a8-node-agent", groups: ["system:masters"] },
} as const satisfies Record<string, ClientIdentity>;

const START_TIMEOUT_MS = 90_000;
const STOP_GRACE_MS = 10_000;

export interface ControlPlane {
    readonly dir: string;
    readonly netns: string;
    readonly netnsPath: string;
    readonly pki: ClusterPki;
    /** The API server as this machine reaches it (the relay). */
    readonly server: string;
    /** A kubeconfig for the admin identity through the relay (what Pulumi and kubectl use). */
    readonly kubeconfig: string;
    /** Credentials of an identity, for a server URL (the relay by default). */
    credentials(identity: ClientIdentity, server?: string): ApiCredentials;
    /** A kubeconfig for an identity and a server URL. */
    writeKubeconfig(file: string, identity: ClientIdentity, server: string): string;
    /** Whether every control-plane process still runs; the name of the first that exited otherwise. */
    exited(): string | undefined;
    stop(): Promise<void>;
}

export function kubeconfigYaml(server: string, caFile: string, certFile: string, keyFile: string, user: string): string {
    const b64 = (f: string): string => fs.readFileSync(f).toString("base64");
    return [
        "apiVersion: v1",
        "kind: Config",
        "clusters:",
        "  - name: a8-test",
        "    cluster:",
        `      server: ${server}`,
        `      certificate-authority-data: ${b64(caFile)}`,
        "users:",
        `  - name: ${user}`,
        "    user:",
        `      client-certificate-data: ${b64(certFile)}`,
        `      client-key-data: ${b64(keyFile)}`,
        "contexts:",
        "  - name: a8-test",
        "    context:",
        "      cluster: a8-test",
        `      user: ${user}`,
        "current-context: a8-test",
        "",
    ].join("\n");
}

/** Pure: the flags of each control-plane binary, from the run's files. */
export function controlPlaneArgs(
    dir: string,
    pki: ClusterPki,
): Record<"etcd" | "kube-apiserver" | "kube-controller-manager" | "kube-scheduler", string[]> {
    const n = CLUSTER_NETWORK;
    const etcdUrl = `http://127.0.0.1:${n.etcdClientPort}`;
    const peerUrl = `http://127.0.0.1:${n.etcdPeerPort}`;
    return {
        etcd: [
            "--name=a8-test",
            `--data-dir=${path.join(dir, "etcd")}`,
            `--listen-client-urls=${etcdUrl}`,
            `--advertise-client-urls=${etcdUrl}`,
            `--listen-peer-urls=${peerUrl}`,
            `--initial-advertise-peer-urls=${peerUrl}`,
            `--initial-cluster=a8-test=${peerUrl}`,
            // A throw-away cluster: no fsync on every write (etcd's own flag for tests).
            "--unsafe-no-fsync",
            "--log-level=warn",
        ],
        "kube-apiserver": [
            `--etcd-servers=${etcdUrl}`,
            "--bind-address=0.0.0.0",
            `--advertise-address=${n.bridgeAddress}`,
            `--secure-port=${n.apiPort}`,
            `--tls-cert-file=${pki.serverCert}`,
            `--tls-private-key-file=${pki.serverKey}`,
            `--client-ca-file=${pki.caCert}`,
            `--service-account-issuer=https://kubernetes.default.svc.${n.clusterDomain}`,
            `--service-account-key-file=${pki.serviceAccountPub}`,
            `--service-account-signing-key-file=${pki.serviceAccountKey}`,
            `--service-cluster-ip-range=${n.serviceCidr}`,
            "--authorization-mode=Node,RBAC",
            `--kubelet-client-certificate=${pki.client(IDENTITIES.apiserverKubeletClient.file).cert}`,
            `--kubelet-client-key=${pki.client(IDENTITIES.apiserverKubeletClient.file).key}`,
            `--kubelet-certificate-authority=${pki.caCert}`,
            "--kubelet-preferred-address-types=InternalIP",
            // PodSecurity is on by default; NodeRestriction as kubeadm enables it.
            "--enable-admission-plugins=NodeRestriction",
            "--allow-privileged=false",
            "--profiling=false",
            `--cert-dir=${path.join(dir, "apiserver-certs")}`,
        ],
        "kube-controller-manager": [
            `--kubeconfig=${path.join(dir, "controller-manager.kubeconfig")}`,
            `--authentication-kubeconfig=${path.join(dir, "controller-manager.kubeconfig")}`,
            `--authorization-kubeconfig=${path.join(dir, "controller-manager.kubeconfig")}`,
            "--bind-address=127.0.0.1",
            `--cert-dir=${path.join(dir, "controller-manager-certs")}`,
            "--leader-elect=false",
            "--use-service-account-credentials=true",
            `--service-account-private-key-file=${pki.serviceAccountKey}`,
            `--root-ca-file=${pki.caCert}`,
            `--cluster-signing-cert-file=${pki.caCert}`,
            `--cluster-signing-key-file=${pki.caKey}`,
            "--allocate-node-cidrs=true",
            `--cluster-cidr=${n.podCidr}`,
            `--node-cidr-mask-size=${n.nodeCidrMaskSize}`,
            `--service-cluster-ip-range=${n.serviceCidr}`,
            "--profiling=false",
        ],
        "kube-scheduler": [
            `--kubeconfig=${path.join(dir, "scheduler.kubeconfig")}`,
            `--authentication-kubeconfig=${path.join(dir, "scheduler.kubeconfig")}`,
            `--authorization-kubeconfig=${path.join(dir, "scheduler.kubeconfig")}`,
            "--bind-address=127.0.0.1",
            `--cert-dir=${path.join(dir, "scheduler-certs")}`,
            "--leader-elect=false",
            "--profiling=false",
        ],
    };
}

/**
 * Starts the control plane in `dir` (a fresh folder of the run) for nodes at `nodeIps`, and waits
 * until the API server is ready.
 */
export async function startControlPlane(dir: string, nodeIps: readonly string[]): Promise<ControlPlane> {
    removeOrphanNetns();
    const netns = ownedNetnsName("cluster");
    const processes: ManagedProcess[] = [];
    const logFile = (name: string): string => path.join(dir, `${name}.log`);
    let netnsCreated = false;
    const stop = async (): Promise<void> => {
        for (const p of [...processes].reverse()) await p.stop(STOP_GRACE_MS);
        if (!netnsCreated) return;
        deleteNetns(netns);
        // Gone with the namespace, unless something still holds the namespace open.
        if (ip("-o", "link", "show").includes(`${hostLinkName()}@`)) ip("link", "delete", hostLinkName());
    };
    try {
        const pki = generatePki(
            path.join(dir, "pki"),
            ["127.0.0.1", CLUSTER_NETWORK.bridgeAddress, CLUSTER_NETWORK.kubernetesServiceIp],
            nodeIps,
            Object.values(IDENTITIES),
        );
        const nsPath = createNetns(netns);
        netnsCreated = true;
        const n = CLUSTER_NETWORK;
        ip("-n", netns, "link", "add", n.bridgeName, "type", "bridge");
        ip("-n", netns, "addr", "add", `${n.bridgeAddress}/16`, "dev", n.bridgeName);
        ip("-n", netns, "link", "set", n.bridgeName, "up");
        // Service, node and load-balancer addresses are local to the namespace: the agent's proxy and DNS bind them.
        ip("-n", netns, "route", "add", "local", n.serviceCidr, "dev", "lo");
        ip("-n", netns, "route", "add", "local", n.nodeAddressRange, "dev", "lo");
        ip("-n", netns, "route", "add", "local", n.loadBalancerRange, "dev", "lo");
        // The host end goes with the namespace; its name says which run owns it.
        const hostEnd = hostLinkName();
        const link = n.hostLink;
        ip("link", "add", hostEnd, "type", "veth", "peer", "name", "eth-host", "netns", netns);
        ip("addr", "add", `${link.hostAddress}/${link.prefixLength}`, "dev", hostEnd);
        ip("link", "set", hostEnd, "up");
        ip("-n", netns, "addr", "add", `${link.clusterAddress}/${link.prefixLength}`, "dev", "eth-host");
        ip("-n", netns, "link", "set", "eth-host", "up");
        ip("route", "add", n.loadBalancerRange, "via", link.clusterAddress, "dev", hostEnd);

        const inside = `https://127.0.0.1:${n.apiPort}`;
        const writeKubeconfig = (file: string, identity: ClientIdentity, server: string): string => {
            const client = pki.client(identity.file);
            fs.writeFileSync(file, kubeconfigYaml(server, pki.caCert, client.cert, client.key, identity.user), { mode: 0o600 });
            return file;
        };
        writeKubeconfig(path.join(dir, "controller-manager.kubeconfig"), IDENTITIES.controllerManager, inside);
        writeKubeconfig(path.join(dir, "scheduler.kubeconfig"), IDENTITIES.scheduler, inside);
        const args = controlPlaneArgs(dir, pki);
        const start = (bin: keyof typeof args): ManagedProcess => {
            const p = launch(bin, "nsenter", [`--net=${nsPath}`, "--", path.resolve(CLUSTER_BIN, bin), ...args[bin]], {
                env: { PATH: process.env.PATH ?? "" },
                logFile: logFile(bin),
            }).process;
            processes.push(p);
            return p;
        };
        start("etcd");
        const apiserver = start("kube-apiserver");

        const [hostPort] = await freePorts(1);
        const socket = path.join(dir, "api.sock");
        processes.push(
            await startRelay(
                "api-relay/inside",
                [{ listen: { path: socket }, connect: { host: "127.0.0.1", port: n.apiPort } }],
                logFile("api-relay"),
                nsPath,
            ),
        );
        processes.push(
            await startRelay(
                "api-relay/host",
                [{ listen: { host: "127.0.0.1", port: hostPort }, connect: { path: socket } }],
                logFile("api-relay"),
            ),
        );
        const server = `https://127.0.0.1:${hostPort}`;
        const credentials = (identity: ClientIdentity, url = server): ApiCredentials => {
            const client = pki.client(identity.file);
            return { server: url, caFile: pki.caCert, certFile: client.cert, keyFile: client.key };
        };
        const admin = new KubeApi(credentials(IDENTITIES.admin));
        try {
            await waitFor(
                "the API server to be ready (/readyz)",
                START_TIMEOUT_MS,
                async () => {
                    if (!apiserver.running) throw new WaitAborted(`kube-apiserver exited:\n${tailFile(logFile("kube-apiserver"), 15)}`);
                    return (
                        (await admin
                            .request("GET", "/readyz", undefined, undefined, 2_000)
                            .then(() => true)
                            .catch(() => false)) || undefined
                    );
                },
                250,
            );
            start("kube-controller-manager");
            start("kube-scheduler");
            await admin.create("/apis/storage.k8s.io/v1/storageclasses", {
                apiVersion: "storage.k8s.io/v1",
                kind: "StorageClass",
                metadata: { name: STORAGE_CLASS.name, annotations: { "storageclass.kubernetes.io/is-default-class": "true" } },
                provisioner: STORAGE_CLASS.provisioner,
                reclaimPolicy: "Delete",
                volumeBindingMode: "WaitForFirstConsumer",
            });
            // The service-account controller makes `default` in each namespace once it runs.
            await waitFor(
                "the controller manager to make the default ServiceAccount",
                START_TIMEOUT_MS,
                async () => {
                    const gone = processes.find((p) => !p.running);
                    if (gone) throw new WaitAborted(`${gone.name} exited:\n${tailFile(logFile(gone.name), 15)}`);
                    return (await admin.find("/api/v1/namespaces/default/serviceaccounts/default")) !== undefined;
                },
                250,
            );
        } finally {
            admin.close();
        }
        const kubeconfig = writeKubeconfig(path.join(dir, "admin.kubeconfig"), IDENTITIES.admin, server);
        return {
            dir,
            netns,
            netnsPath: nsPath,
            pki,
            server,
            kubeconfig,
            credentials,
            writeKubeconfig,
            exited: () => processes.find((p) => !p.running)?.name,
            stop,
        };
    } catch (e) {
        await stop();
        throw e;
    }
}
