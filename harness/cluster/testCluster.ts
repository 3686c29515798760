/**
 * A whole test cluster: the control plane (controlPlane.ts) and the node agent (agent/main.ts)
 * with three Nodes in three zones, started and stopped together; every wait is bounded.
 */
import * as fs from "fs";
import * as path from "path";
import { ManagedProcess, WaitAborted, launch, makeTempDir, removeTempDir, tailFile, waitFor } from "../../cli/process";
import { REPO_ROOT } from "../../cli/repoRoot";
import type { AgentConfig, AgentNode } from "./agent/main";
import { CLUSTER_NETWORK, ControlPlane, IDENTITIES, startControlPlane } from "./controlPlane";
import { KubeApi } from "./kubeApi";
import { CLUSTER_BIN } from "./pulumiCli";

/** The nodes: one per zone, so that spread, anti-affinity and PDBs have somewhere to go. */
export const TEST_NODES: readonly AgentNode[] = ["a", "b", "c"].map((z, i) => ({
    name: `node-${z}`,
    zone: `zone-${z}`,
    address: `10.245.0.${i + 1}`,
}));

const NODES_READY_TIMEOUT_MS = 60_000;

export interface TestCluster {
    readonly controlPlane: ControlPlane;
    /** A kubeconfig for the admin identity (what Pulumi and kubectl use). */
    readonly kubeconfig: string;
    /** An API client as the admin. */
    readonly api: KubeApi;
    readonly dir: string;
    /** The last lines of a component's log: etcd, kube-apiserver, ..., node-agent. */
    log(component: string, lines?: number): string;
    stop(): Promise<void>;
}

/** The Kubernetes release the binaries were built at (the module's pin). */
export function kubernetesVersion(): string {
    const gomod = fs.readFileSync(path.join(REPO_ROOT, "harness", "cluster", "go", "kubernetes", "go.mod"), "utf8");
    const m = /^\s*k8s\.io\/kubernetes (v\S+)/m.exec(gomod);
    if (!m) throw new Error("harness/cluster/go/kubernetes/go.mod pins no k8s.io/kubernetes version");
    return m[1];
}

/** Starts a cluster in a fresh temp folder; `keepDir` leaves its files (logs) after stop. */
export async function startTestCluster(opts: { keepDir?: boolean } = {}): Promise<TestCluster> {
    for (const bin of ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet-streams"]) {
        if (!fs.existsSync(path.join(CLUSTER_BIN, bin))) throw new Error(`.cluster/bin/${bin} is missing: run npm run build:cluster`);
    }
    const dir = makeTempDir("a8-cluster", opts.keepDir);
    const logOf = (component: string, lines = 30): string => tailFile(path.join(dir, `${component}.log`), lines);
    let controlPlane: ControlPlane | undefined;
    let agent: ManagedProcess | undefined;
    let streams: ManagedProcess | undefined;
    let api: KubeApi | undefined;
    const stop = async (): Promise<void> => {
        api?.close();
        // The agent stops its pods first (SIGTERM), then the control plane goes.
        await agent?.stop(20_000);
        await streams?.stop(5_000);
        await controlPlane?.stop();
        if (!opts.keepDir) removeTempDir(dir);
    };
    try {
        controlPlane = await startControlPlane(
            dir,
            TEST_NODES.map((n) => n.address),
        );
        const inside = `https://127.0.0.1:${CLUSTER_NETWORK.apiPort}`;
        const config: AgentConfig = {
            credentials: controlPlane.credentials(IDENTITIES.nodeAgent, inside),
            dir: path.join(dir, "agent"),
            nodes: TEST_NODES,
            kubernetesVersion: kubernetesVersion(),
        };
        fs.mkdirSync(config.dir);
        const configFile = path.join(dir, "node-agent.json");
        fs.writeFileSync(configFile, JSON.stringify(config, null, 2), { mode: 0o600 });
        agent = launch(
            "node-agent",
            "nsenter",
            [
                `--net=${controlPlane.netnsPath}`,
                "--",
                process.execPath,
                "-r",
                path.join(REPO_ROOT, "cli", "check", "transpileCache.js"),
                path.join(REPO_ROOT, "harness", "cluster", "agent", "main.ts"),
                configFile,
            ],
            { env: { PATH: process.env.PATH ?? "" }, logFile: path.join(dir, "node-agent.log") },
        ).process;
        // The kubelet API's port forwarding, for every node at once.
        const pki = controlPlane.pki;
        streams = launch(
            "kubelet-streams",
            "nsenter",
            [
                `--net=${controlPlane.netnsPath}`,
                "--",
                path.resolve(CLUSTER_BIN, "kubelet-streams"),
                `--listen=${TEST_NODES.map((n) => `${n.address}:${CLUSTER_NETWORK.kubeletPort}`).join(",")}`,
                `--tls-cert-file=${pki.kubeletCert}`,
                `--tls-private-key-file=${pki.kubeletKey}`,
                `--client-ca-file=${pki.caCert}`,
                `--kubeconfig=${controlPlane.writeKubeconfig(path.join(dir, "kubelet-streams.kubeconfig"), IDENTITIES.nodeAgent, inside)}`,
            ],
            { env: { PATH: process.env.PATH ?? "" }, logFile: path.join(dir, "kubelet-streams.log") },
        ).process;
        api = new KubeApi(controlPlane.credentials(IDENTITIES.admin));
        const running = agent;
        const admin = api;
        await waitFor(
            `${TEST_NODES.length} Ready nodes with a pod range`,
            NODES_READY_TIMEOUT_MS,
            async () => {
                if (!running.running) throw new WaitAborted(`the node agent exited:\n${logOf("node-agent", 15)}`);
                const nodes = await admin.list("/api/v1/nodes");
                const ready = nodes.filter(
                    (n) =>
                        n.spec?.podCIDR &&
                        (n.status?.conditions ?? []).some(
                            (c: { type: string; status: string }) => c.type === "Ready" && c.status === "True",
                        ),
                );
                return ready.length === TEST_NODES.length;
            },
            250,
        );
        return { controlPlane, kubeconfig: controlPlane.kubeconfig, api, dir, log: logOf, stop };
    } catch (e) {
        await stop();
        throw e;
    }
}
