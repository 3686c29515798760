/**
 * `npm run cluster -- [--for <seconds>] [--keep]`: starts the test cluster (control plane, node
 * agent, three Nodes), prints the kubeconfig to use, and stops it all after the given time
 * (default 3600 s) or on Ctrl-C. For trying the program by hand the way test:cluster runs it.
 */
import { InputError } from "../../cli/errors";
import { startTestCluster } from "./testCluster";

const USAGE = `Usage: npm run cluster -- [--for <seconds>] [--keep]

Starts a local Kubernetes cluster (etcd, kube-apiserver, kube-controller-manager, kube-scheduler,
the node agent with 3 Nodes) from .cluster/bin (npm run build:cluster), prints its kubeconfig,
and stops it after --for seconds (default 3600, 1-86400) or on Ctrl-C. Needs root (network
namespaces). --keep leaves the cluster's folder (logs) in place.`;

export function parseClusterArgs(argv: readonly string[]): { seconds: number; keep: boolean } {
    let seconds = 3600;
    let keep = false;
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        if (a === "--help" || a === "-h") {
            console.log(USAGE);
            process.exit(0);
        } else if (a === "--keep") {
            keep = true;
        } else if (a === "--for") {
            const v = argv[++i];
            if (v === undefined || !/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 86400)
                throw new InputError(`--for needs a number of seconds from 1 to 86400, got ${v === undefined ? "nothing" : `"${v}"`}`);
            seconds = Number(v);
        } else {
            throw new InputError(`unknown argument "${a}" (see --help)`);
        }
    }
    return { seconds, keep };
}

async function main(): Promise<void> {
    const { seconds, keep } = parseClusterArgs(process.argv.slice(2));
    const cluster = await startTestCluster({ keepDir: keep });
    console.log(`cluster up: export KUBECONFIG=${cluster.kubeconfig}`);
    console.log(`logs: ${cluster.dir}/*.log; stops in ${seconds} s or on Ctrl-C`);
    await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, seconds * 1000);
        for (const sig of ["SIGINT", "SIGTERM"] as const) {
            process.once(sig, () => {
                clearTimeout(timer);
                resolve();
            });
        }
    });
    await cluster.stop();
}

if (require.main === module) {
    main().catch((e: Error) => {
        console.error(`error: ${e.message}`);
        process.exit(e instanceof InputError ? 2 : 1);
    });
}
