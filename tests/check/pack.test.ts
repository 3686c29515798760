/**
 * The pack loads under `run-policy-pack` (ts-node with type checking, as the CLI runs it) and
 * answers the Analyzer gRPC protocol. One pack process serves the whole file.
 */
import * as assert from "assert";
import * as path from "path";
import * as grpc from "@grpc/grpc-js";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import * as analyzerpb from "@pulumi/pulumi/proto/analyzer_pb";
import { AnalyzerClient } from "@pulumi/pulumi/proto/analyzer_grpc_pb";
import { Policies } from "@pulumi/policy";
import { haPolicies } from "../../policy/policies/ha";
import { hygienePolicies } from "../../policy/policies/hygiene";
import { redisPolicies } from "../../policy/policies/redis";
import { reliabilityPolicies } from "../../policy/policies/reliability";
import { securityPolicies } from "../../policy/policies/security";
import { PackInfo, PolicyPackProcess } from "../../tools/check/packRunner";
import { loadPolicyConfigFile, resolvePolicySettings } from "../../tools/check/policyConfig";
import { CheckResource, loadManifests } from "../../tools/check/resources";
import { GOOD, REPO, SEED } from "./helpers";

const ALL: Policies = [...haPolicies, ...redisPolicies, ...reliabilityPolicies, ...securityPolicies, ...hygienePolicies];

describe("policy pack over the Analyzer protocol", function () {
    this.timeout(120_000);
    let pack: PolicyPackProcess;
    let info: PackInfo;
    let seed: CheckResource[];

    before(async () => {
        pack = await PolicyPackProcess.start(path.join(REPO, "policy"));
        seed = loadManifests(SEED);
    });
    after(async () => {
        const pid = pack?.pid;
        await pack?.stop();
        if (pid !== undefined) {
            assert.throws(() => process.kill(pid, 0), /ESRCH/, "the pack process is gone");
        }
    });

    it("answers GetAnalyzerInfo with every policy, its level and its config schema", async () => {
        info = await pack.info();
        assert.strictEqual(info.name, "amalgam8-ha");
        assert.strictEqual(info.version, "0.1.0");
        assert.deepStrictEqual(
            info.policies.map((p) => [p.name, p.enforcementLevel, p.type]),
            ALL.map((p) => [p.name, p.enforcementLevel, "validateStack" in p ? "stack" : "resource"]),
        );
        const min = info.policies.find((p) => p.name === "ha-min-replicas")!;
        assert.deepStrictEqual(min.properties.minReplicas, { type: "integer", minimum: 1, default: 2, description: "Least replicas per workload." });
    });

    it("analyzes one resource and the stack with the engine's defaults", async () => {
        await pack.configure(resolvePolicySettings(info.policies, undefined));
        const rc = seed.find((r) => r.ref === "ReplicationController/redis")!;
        const d = await pack.analyze(rc);
        const rcDiag = d.find((x) => x.policy === "rel-no-replication-controller");
        assert.strictEqual(rcDiag?.enforcementLevel, "mandatory");
        assert.strictEqual(rcDiag?.urn, rc.urn);
        assert.match(rcDiag!.message, /^ReplicationController\/redis is a ReplicationController/);

        const stack = await pack.analyzeStack(seed);
        const topo = stack.filter((x) => x.policy === "redis-ha-topology");
        assert.ok(topo.length > 0);
        assert.strictEqual(topo[0].urn, rc.urn);
    });

    it("is not applicable to resources that are not Kubernetes objects", async () => {
        const d = await pack.analyze({ urn: "urn:pulumi:t::p::random:index/randomPassword:RandomPassword::pw", type: "random:index/randomPassword:RandomPassword", name: "pw", props: { length: 24 }, custom: true });
        assert.deepStrictEqual(d, []);
    });

    it("applies Configure: levels and properties from a stack config", async () => {
        const dev = loadPolicyConfigFile(path.join(REPO, "policy", "config", "dev.json"));
        await pack.configure(resolvePolicySettings(info.policies, dev));
        const stack = await pack.analyzeStack(seed);
        const pdb = stack.filter((x) => x.policy === "ha-pdb-required");
        assert.ok(pdb.length > 0 && pdb.every((x) => x.enforcementLevel === "advisory"));
        const s = resolvePolicySettings(info.policies, { "ha-pdb-required": "disabled", "ha-spread-replicas": { exemptions: ["ReplicationController/controller"] } });
        await pack.configure(s);
        const again = await pack.analyzeStack(seed);
        assert.strictEqual(again.filter((x) => x.policy === "ha-pdb-required").length, 0);
        const spread = again.filter((x) => x.policy === "ha-spread-replicas");
        assert.deepStrictEqual(spread.map((x) => x.message.split(" ")[0]), ["ReplicationController/registry"]);
    });

    it("does not read unknown Secret values during a preview (a generated password)", async () => {
        const UNKNOWN_STRING = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"; // the engine's marker for "known after apply"
        await pack.configure(resolvePolicySettings(info.policies, loadPolicyConfigFile(path.join(REPO, "policy", "config", "prod.json"))));
        const good = loadManifests(GOOD);
        const preview = good.map((r) =>
            r.ref === "Secret/redis-auth" ? { ...r, props: { ...r.props, data: { password: UNKNOWN_STRING } } } : r,
        );
        assert.deepStrictEqual(await pack.analyzeStack(preview), []);
        // Where a rule does need the value, the pack reports it cannot run, as an advisory.
        const conf = preview.map((r) =>
            r.ref === "ConfigMap/redis-config" ? { ...r, props: { ...r.props, data: { ...r.props.data, "redis.conf": UNKNOWN_STRING } } } : r,
        );
        const d = await pack.analyzeStack(conf);
        assert.ok(d.length > 0 && d.every((x) => x.enforcementLevel === "advisory" && /during preview/.test(x.message)), JSON.stringify(d));
    });

    it("refuses an AnalyzeRequest without options, as the CLI contract says", async () => {
        // A raw client, to send what PolicyPackProcess never sends.
        const client = new AnalyzerClient(`127.0.0.1:${pack.port}`, grpc.credentials.createInsecure());
        const req = new analyzerpb.AnalyzeRequest();
        req.setType("kubernetes:core/v1:Pod");
        req.setUrn("urn:pulumi:t::p::kubernetes:core/v1:Pod::x");
        req.setName("x");
        req.setProperties(Struct.fromJavaScript({ metadata: { name: "x" } }));
        const err = await new Promise<Error | null>((resolve) => client.analyze(req, (e) => resolve(e)));
        client.close();
        assert.match(String(err?.message), /more recent version of the Pulumi CLI/);
    });
});
