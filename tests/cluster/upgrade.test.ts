/**
 * Upgrade, as a user does it: `pulumi up` of prod at the last released commit, then `git pull` and
 * `pulumi up` of HEAD on the same stack. The redesign after that release renamed every Redis
 * resource and relies on aliases: if one is missing, the engine deletes the Redis StatefulSet and
 * creates a new one, and with it come new, empty volumes. So: no replace and no delete of the
 * StatefulSet, the same claims, and the rules written before are still there.
 */
import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { CliResult, PROJECT_ENTRIES, PulumiProject, pulumiProject } from "../../harness/cluster/pulumiCli";
import { TestCluster, startTestCluster } from "../../harness/cluster/testCluster";
import { REPO_ROOT } from "../../cli/repoRoot";
import { httpClient } from "../../cli/smoke/http";
import { RuleLedger } from "../../cli/smoke/ruleLedger";

/** The release whose URNs tests/program/released-urns.json pins (checked below against the engine). */
const RELEASED_COMMIT = "eaea1e9";
const STACK = "prod";
const UP_TIMEOUT_MS = 600_000;
const RULES_BEFORE = 20;

const output = (r: CliResult): string => `${r.stdout}\n${r.stderr}`;
const typeOfUrn = (urn: string): string => urn.split("::")[2].split("$").pop() as string;

/** The project's files at `commit`, in a temp folder (git archive: no worktree of the checkout). */
function releasedSource(commit: string): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "a8-released-"));
    try {
        const tar = execFileSync("git", ["-C", REPO_ROOT, "archive", commit, ...PROJECT_ENTRIES, `Pulumi.${STACK}.yaml`], {
            maxBuffer: 256 * 1024 * 1024,
        });
        execFileSync("tar", ["-x", "-C", dir], { input: tar });
    } catch (e) {
        fs.rmSync(dir, { recursive: true, force: true });
        throw new Error(
            `the released commit ${commit} is not in this clone (a shallow clone? fetch its history): ${(e as Error).message}`,
            {
                cause: e,
            },
        );
    }
    return dir;
}

describe("upgrade from the released commit to HEAD (the real Pulumi CLI, a real control plane)", function () {
    this.timeout(UP_TIMEOUT_MS);
    let cluster: TestCluster;
    let project: PulumiProject;
    let released: string;
    let env: Record<string, string>;
    let namespace = "";
    let ledger: RuleLedger;
    let controllerUrl = "";
    const uids: { statefulSets: string[]; claims: string[] } = { statefulSets: [], claims: [] };

    const redisObjects = async (): Promise<{ statefulSets: string[]; claims: string[] }> => ({
        statefulSets: (await cluster.api.list(`/apis/apps/v1/namespaces/${namespace}/statefulsets`))
            .map((s) => `${s.metadata.name} ${s.metadata.uid}`)
            .sort(),
        claims: (await cluster.api.list(`/api/v1/namespaces/${namespace}/persistentvolumeclaims`))
            .map((c) => `${c.metadata.name} ${c.metadata.uid} ${c.spec.volumeName}`)
            .sort(),
    });
    const stackOutputs = async (): Promise<Record<string, string>> => {
        const r = await project.run(["stack", "output", "--json", "--show-secrets", "--stack", STACK]);
        assert.equal(r.code, 0, output(r));
        return JSON.parse(r.stdout) as Record<string, string>;
    };

    before(async function () {
        this.timeout(180_000);
        released = releasedSource(RELEASED_COMMIT);
        cluster = await startTestCluster();
        env = { KUBECONFIG: cluster.kubeconfig };
        project = pulumiProject({ [STACK]: fs.readFileSync(path.join(released, `Pulumi.${STACK}.yaml`), "utf8") }, released);
        const init = await project.run(["stack", "init", STACK]);
        assert.equal(init.code, 0, output(init));
    });
    after(async function () {
        this.timeout(120_000);
        project?.remove();
        if (released) fs.rmSync(released, { recursive: true, force: true });
        await cluster?.stop();
    });

    it(`the released commit's ${STACK} comes up, under the URNs that released-urns.json pins, and takes rules`, async () => {
        const r = await project.run(["up", "--yes", "--skip-preview", "--stack", STACK], { env, timeoutMs: UP_TIMEOUT_MS });
        assert.equal(r.code, 0, `${output(r)}\n${cluster.log("node-agent", 40)}`);
        const exported = await project.run(["stack", "export", "--stack", STACK]);
        const urns = (JSON.parse(exported.stdout) as { deployment: { resources: { urn: string; type: string }[] } }).deployment.resources
            .filter((x) => x.type !== "pulumi:pulumi:Stack" && !x.type.startsWith("pulumi:providers:"))
            .map((x) => x.urn)
            .sort();
        const pins = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "tests", "program", "released-urns.json"), "utf8")) as Record<
            string,
            string[]
        >;
        assert.deepEqual(urns, [...pins[STACK]].sort(), `${RELEASED_COMMIT} is the release that released-urns.json pins`);

        const outputs = await stackOutputs();
        namespace = outputs.namespace;
        Object.assign(uids, await redisObjects());
        assert.ok(uids.statefulSets.length > 0 && uids.claims.length > 0, "Redis runs as a StatefulSet with claims");
        controllerUrl = outputs.controllerEndpoint;
        ledger = new RuleLedger(
            "upgrade",
            httpClient(() => controllerUrl, outputs.adminToken, 5_000),
        );
        for (let i = 0; i < RULES_BEFORE; i++) await ledger.write();
        assert.equal(ledger.summary.writesAcknowledged, RULES_BEFORE, JSON.stringify(ledger.events));
    });

    it("HEAD's preview plans no replace and no delete of the Redis StatefulSet", async () => {
        project.useSource(REPO_ROOT, { [STACK]: fs.readFileSync(path.join(REPO_ROOT, `Pulumi.${STACK}.yaml`), "utf8") });
        const r = await project.run(["preview", "--json", "--stack", STACK], { env });
        assert.equal(r.code, 0, output(r));
        const steps = (JSON.parse(r.stdout) as { steps: { op: string; urn: string }[] }).steps;
        const destructive = steps.filter((s) => ["replace", "delete", "create-replacement", "delete-replaced"].includes(s.op));
        assert.deepEqual(
            destructive.filter((s) => typeOfUrn(s.urn) === "kubernetes:apps/v1:StatefulSet").map((s) => `${s.op} ${s.urn}`),
            [],
            `every destructive step:\n${destructive.map((s) => `${s.op} ${s.urn}`).join("\n")}`,
        );
    });

    it("HEAD's up keeps the StatefulSet, its claims and every rule written before", async () => {
        const r = await project.run(["up", "--yes", "--skip-preview", "--stack", STACK], { env, timeoutMs: UP_TIMEOUT_MS });
        assert.equal(r.code, 0, `${output(r)}\n${cluster.log("node-agent", 40)}`);
        assert.deepEqual(await redisObjects(), uids, "the same StatefulSet and claims (names, uids, volumes)");
        // Read through HEAD's endpoint, with the token issued before: what a sidecar keeps using.
        controllerUrl = (await stackOutputs()).controllerEndpoint;
        await ledger.read();
        assert.deepEqual(
            { readsOk: ledger.summary.readsOk, readsWrong: ledger.summary.readsWrong },
            { readsOk: 1, readsWrong: 0 },
            JSON.stringify(ledger.events),
        );
    });
});
