/**
 * Rendered objects into a test cluster without Pulumi: one `kubectl apply --server-side` of them all,
 * as a user applies the manifests `npm run check -- --out` writes.
 */
import { execFile } from "child_process";
import * as fs from "fs";
import * as path from "path";
import type { KubeObject } from "./kubeApi";
import { CLUSTER_BIN } from "./pulumiCli";

const APPLY_TIMEOUT_MS = 120_000;

/** Pure: the objects as one `v1/List`, namespaces first so that what lives in them has somewhere to go. */
export function applyList(objects: readonly KubeObject[]): KubeObject {
    const first = (o: KubeObject): number => (o.kind === "Namespace" ? 0 : 1);
    return { apiVersion: "v1", kind: "List", items: [...objects].sort((a, b) => first(a) - first(b)) };
}

/** Applies the objects with the cluster's kubectl; rejects with kubectl's own message. */
export function applyObjects(kubeconfig: string, dir: string, objects: readonly KubeObject[]): Promise<string> {
    const file = path.join(dir, `apply-${process.pid}-${Date.now()}.json`);
    fs.writeFileSync(file, JSON.stringify(applyList(objects)), { mode: 0o600 });
    return new Promise((resolve, reject) =>
        execFile(
            path.resolve(CLUSTER_BIN, "kubectl"),
            ["apply", "--server-side", "--field-manager", "a8-tests", "-f", file],
            { env: { ...process.env, KUBECONFIG: kubeconfig }, timeout: APPLY_TIMEOUT_MS },
            (e, stdout, stderr) => {
                fs.rmSync(file, { force: true });
                if (e) reject(new Error(`kubectl apply --server-side: ${stderr.trim() || e.message}`));
                else resolve(stdout);
            },
        ),
    );
}
