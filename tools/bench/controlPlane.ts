/**
 * What sidecars see while Redis fails over. The `staging` stack's rendered objects applied to a test
 * cluster (harness/cluster: a real API server; the node agent runs the real controller and registry, 2
 * replicas each, and the generated HA Redis as confined processes); seeded state (instances with a
 * TTL, routing rules); steady sidecar-like traffic that alternates replicas (list services, get a
 * service, list instances, heartbeats, get rules, a rule write each second) while the Redis master's
 * redis-server is SIGKILLed N times (the container crashes and is restarted, Sentinel fails over;
 * recovery between kills) and every redis-server is frozen once for 10 s.
 *
 *   npm run bench:control-plane [-- --images upstream|patched] [--kills N] [--no-freeze] [--json]
 *
 * A request fails when it gets no 2xx answer. An answer is wrong when it is 2xx and contradicts
 * what was acknowledged before the request started: a service or instance list lacking a live
 * registered instance (empty or partial), rules lacking an acknowledged rule, or a revision
 * lower than one already answered. Each request counts for the fault that precedes it.
 *
 * Needs root (the cluster's network namespaces) and `npm run build:cluster`. This file runs the
 * faults; the load is controlPlaneTraffic.ts, what counts as wrong
 * cli/smoke/ledger.ts, the figures and the table controlPlaneReport.ts.
 */
import { PROJECT } from "../../components/config";
import { K8sObject } from "../../policy/lib/k8s";
import { patchedImage } from "../../harness/cluster/agent/images";
import { applyObjects } from "../../harness/cluster/apply";
import { ClusterRedisHa } from "../../harness/cluster/redisHa";
import { StackPlane, reachStackPlane } from "../../harness/cluster/stackPlane";
import { TestCluster, startTestCluster } from "../../harness/cluster/testCluster";
import { FlagSpec, parseFlags } from "../../cli/flags";
import { kubernetesObjects } from "../../cli/check/resources";
import { runProgram } from "../../cli/program/runProgram";
import { REPO_ROOT } from "../../cli/repoRoot";
import { loadStackConfig } from "../../cli/program/stackConfig";
import { Amalgam8Variant, buildAmalgam8 } from "../../harness/loopback/prerequisites";
import { sleep, waitFor } from "../../cli/process";
import { log, runBenchmarkCommand } from "./cli";
import { BenchResult, FaultRecord, figuresPerFault, summary, table } from "./controlPlaneReport";
import { Traffic } from "./controlPlaneTraffic";

const USAGE = "usage: npm run bench:control-plane [-- --images upstream|patched] [--kills N] [--no-freeze] [--json]";

/** The shipped stack that runs Redis in `ha` mode with 2 replicas of each service. */
const STACK = "staging";
const FREEZE_MS = 10000;
const READY_TIMEOUT_MS = 180_000;

export interface BenchOptions {
    images: Amalgam8Variant;
    kills: number;
    /** Freeze every Redis server once after the kills. */
    freeze: boolean;
    json: boolean;
    /** Steady traffic before the first fault and after the last recovery. */
    steadyMs: number;
    /**
     * Concurrent list requests sent to every replica just before each fault (sidecars polling
     * at the same moment): they fill the services' Redis connection pools as a busy mesh does.
     */
    burstBeforeFault: number;
}

const FLAGS = {
    "--images": { kind: "choice", values: ["upstream", "patched"] },
    "--kills": { kind: "integer", min: 1, max: 100 },
    "--no-freeze": { kind: "boolean" },
    "--json": { kind: "boolean" },
} as const satisfies Record<string, FlagSpec>;

export function parseArgs(argv: string[]): BenchOptions {
    const f = parseFlags(argv, FLAGS);
    return {
        images: f["--images"] ?? "upstream",
        kills: f["--kills"] ?? 5,
        freeze: !f["--no-freeze"],
        json: f["--json"] ?? false,
        steadyMs: 5000,
        burstBeforeFault: 0,
    };
}

/** The stack's objects, with the Amalgam8 images of the variant asked for. */
async function renderStack(images: Amalgam8Variant): Promise<{ objects: K8sObject[]; outputs: Record<string, unknown> }> {
    const config = loadStackConfig(REPO_ROOT, STACK);
    if (images === "patched") {
        for (const service of ["controller", "registry"] as const) {
            const key = `${PROJECT}:${service}`;
            config.config[key] = JSON.stringify({ ...JSON.parse(config.config[key] ?? "{}"), image: patchedImage(service) });
        }
    }
    const run = await runProgram(config);
    return {
        objects: kubernetesObjects(run.resources),
        outputs: Object.fromEntries(Object.entries(run.outputs).map(([k, v]) => [k, v.value])),
    };
}

async function allReady(cluster: TestCluster, namespace: string): Promise<boolean> {
    const workloads = [
        ...(await cluster.api.list(`/apis/apps/v1/namespaces/${namespace}/deployments`)),
        ...(await cluster.api.list(`/apis/apps/v1/namespaces/${namespace}/statefulsets`)),
    ];
    return workloads.length > 0 && workloads.every((w) => (w.status?.readyReplicas ?? 0) === (w.spec.replicas ?? 1));
}

async function healthyAfter(redis: ClusterRedisHa, what: string): Promise<void> {
    await redis.waitHealthy(90000).catch((e: Error) => {
        throw new Error(`Redis did not recover after ${what}: ${e.message}`);
    });
}

/** Runs the whole benchmark on a test cluster of its own; every process it starts is stopped (by pid) before it returns. */
export async function runControlPlaneBench(o: BenchOptions, progress: (msg: string) => void = log): Promise<BenchResult> {
    const stack = await renderStack(o.images);
    const namespace = String(stack.outputs.namespace);
    progress(`bench:control-plane: the ${STACK} stack (${o.images} images) on a test cluster: kubectl apply --server-side`);
    let cluster: TestCluster | undefined;
    let plane: StackPlane | undefined;
    let redis: ClusterRedisHa | undefined;
    let traffic: Traffic | undefined;
    try {
        cluster = await startTestCluster();
        const started = cluster;
        await applyObjects(started.kubeconfig, started.dir, stack.objects);
        await waitFor(`${namespace}: every workload Ready`, READY_TIMEOUT_MS, () => allReady(started, namespace), 500);
        plane = await reachStackPlane(started, stack.outputs);
        redis = await ClusterRedisHa.open(started, namespace, String(stack.outputs.redisAddress));
        const ha = redis;
        await healthyAfter(ha, "the first start");
        if (plane.controllers.length < 2 || plane.registries.length < 2)
            throw new Error(`the ${STACK} stack runs fewer than 2 Ready replicas of each service`);
        traffic = new Traffic(
            plane.controllers.map((c) => c.url),
            plane.registries.map((r) => r.url),
            Date.now().toString(36),
        );
        await traffic.seed();
        traffic.start();
        progress(`bench:control-plane: seeded; steady traffic for ${o.steadyMs / 1000} s`);
        await sleep(o.steadyMs);

        const faults: FaultRecord[] = [];
        const spaced = async (): Promise<void> => {
            const last = faults[faults.length - 1];
            if (!last) return;
            // Sentinel fails over the same master again only after 2 x failover-timeout; let
            // steady traffic show the recovery too.
            await sleep(Math.max(last.start + ha.faultSpacingMs, last.recovered + o.steadyMs) - Date.now());
        };
        for (let k = 0; k < o.kills; k++) {
            await spaced();
            if (o.burstBeforeFault > 0) await traffic.burst(o.burstBeforeFault);
            const master = await waitFor("a master named by a quorum of Sentinels", 30000, () => ha.sentinelMaster());
            const fault: FaultRecord = { kind: "kill", node: master, start: Date.now(), recovered: 0 };
            faults.push(fault);
            // The container crashes; the node agent restarts it, as the kubelet does.
            await ha.killRedis(master);
            await healthyAfter(ha, `kill ${k + 1}`);
            fault.recovered = Date.now();
            const now = await ha.sentinelMaster();
            progress(
                `bench:control-plane: kill ${k + 1}/${o.kills} of node ${master}: ` +
                    `recovered after ${((fault.recovered - fault.start) / 1000).toFixed(1)} s, master now node ${String(now)}`,
            );
        }
        if (o.freeze) {
            await spaced();
            if (o.burstBeforeFault > 0) await traffic.burst(o.burstBeforeFault);
            const fault: FaultRecord = { kind: "freeze", node: "all", start: Date.now(), recovered: 0 };
            faults.push(fault);
            for (let i = 0; i < ha.nodeCount; i++) await ha.freezeRedis(i, true);
            try {
                await sleep(FREEZE_MS);
            } finally {
                for (let i = 0; i < ha.nodeCount; i++) await ha.freezeRedis(i, false);
            }
            await healthyAfter(ha, "the freeze");
            fault.recovered = Date.now();
            progress(
                `bench:control-plane: ${FREEZE_MS / 1000} s freeze of every Redis server: ` +
                    `recovered after ${((fault.recovered - fault.start) / 1000).toFixed(1)} s`,
            );
        }
        await sleep(o.steadyMs);
        await traffic.stop();

        const final = await traffic.lostWrites();
        for (const d of final.detail) progress(`bench:control-plane: ${d}`);
        const records = traffic.records;
        const wrongByKind: Record<string, number> = {};
        for (const r of records) {
            if (r.wrong === undefined) continue;
            const key = `${r.kind}: ${r.wrong
                .replace(/\(.*\)|\d+ of \d+/g, "")
                .replace(/\s+/g, " ")
                .trim()}`;
            wrongByKind[key] = (wrongByKind[key] ?? 0) + 1;
        }
        return {
            images: o.images,
            records,
            faults,
            perFault: figuresPerFault(records, faults),
            ackedWritesLost: final.lost,
            revisionsWentBack: records.filter((r) => r.wrong?.startsWith("revision went backwards")).length,
            rulesWithoutRevision: Math.max(0, final.rulesWithoutRevision),
            wrongByKind,
        };
    } finally {
        await traffic?.stop();
        await redis?.close();
        await plane?.close();
        await cluster?.stop();
    }
}

async function main(o: BenchOptions): Promise<number> {
    buildAmalgam8(o.images);
    const r = await runControlPlaneBench(o);
    if (o.json) {
        // The table goes to stderr so that stdout is the one JSON line.
        log(table(r));
        process.stdout.write(`${JSON.stringify(summary(r))}\n`);
    } else {
        process.stdout.write(`${table(r)}\n`);
    }
    // Figures are reported; lost writes are a defect.
    return r.ackedWritesLost > 0 ? 1 : 0;
}

if (require.main === module) runBenchmarkCommand("bench:control-plane", USAGE, parseArgs, main);
