/**
 * The pack loads from its compiled output (under packLauncher.js, and under `run-policy-pack` as
 * the CLI runs it) and answers the Analyzer gRPC protocol. One pack process serves the whole file.
 */
import * as assert from "assert";
import * as path from "path";
import * as grpc from "@grpc/grpc-js";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import * as analyzerpb from "@pulumi/pulumi/proto/analyzer_pb";
import { AnalyzerClient } from "@pulumi/pulumi/proto/analyzer_grpc_pb";
import * as fs from "fs";
import * as os from "os";
import { CATALOGUE } from "../../policy/catalogue";
import { isPackBuildCurrent, sourceHash } from "../../cli/check/packBuild";
import { PackInfo, PolicyPackProcess, RUN_POLICY_PACK } from "../../cli/check/packRunner";
import { loadPolicyConfigFile, resolvePolicySettings } from "../../cli/check/policyConfig";
import { CheckResource, loadManifests } from "../../cli/check/resources";
import { GOOD, REPO, SEED } from "./helpers";

const ALL = CATALOGUE.map((e) => e.policy);

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

    it("answers GetAnalyzerInfo with every policy, its level, config schema, severity, tags and remediation steps", async () => {
        info = await pack.info();
        assert.strictEqual(info.name, "amalgam8-ha");
        assert.strictEqual(info.version, "0.1.0");
        assert.deepStrictEqual(
            info.policies.map((p) => [p.name, p.enforcementLevel, p.type]),
            ALL.map((p) => [p.name, p.enforcementLevel, "validateStack" in p ? "stack" : "resource"]),
        );
        for (const [i, e] of CATALOGUE.entries()) {
            const p = info.policies[i];
            assert.strictEqual(p.remediationSteps, e.fix, `${e.id}: the fix reaches the engine as its remediation steps`);
            assert.ok(p.tags.includes(e.category), `${e.id}: tagged ${e.category}, got ${p.tags.join(", ")}`);
            assert.strictEqual(p.tags.includes("amalgam8"), e.amalgam8Specific, `${e.id}: the amalgam8 tag`);
            assert.ok(p.severity !== undefined, `${e.id}: no severity`);
        }
        assert.strictEqual(info.policies.find((p) => p.name === "ha-min-replicas")!.severity, "high");
        const min = info.policies.find((p) => p.name === "ha-min-replicas")!;
        assert.deepStrictEqual(min.properties.minReplicas, {
            type: "integer",
            minimum: 1,
            default: 2,
            description: "Least replicas per workload.",
        });
    });

    it("starts from the compiled pack that policy/package.json points at, built from the current sources", () => {
        assert.ok(isPackBuildCurrent(), "policy/bin is older than the sources after a start");
        assert.strictEqual(require.resolve(path.join(REPO, "policy")), path.join(REPO, "policy", "bin", "index.js"));
    });

    it("pipelines Analyze: every resource's diagnostics, in input order, as one call at a time gives them", async () => {
        await pack.configure(resolvePolicySettings(info.policies, undefined));
        const inputs = [...seed, ...loadManifests(GOOD)];
        const all = await pack.analyzeAll(inputs);
        assert.strictEqual(all.length, inputs.length);
        for (const [i, r] of inputs.entries()) {
            assert.deepStrictEqual(all[i], await pack.analyze(r), r.ref);
            for (const d of all[i]) assert.strictEqual(d.urn, r.urn);
        }
        assert.ok(all.flat().length > 10);
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
        const d = await pack.analyze({
            urn: "urn:pulumi:t::p::random:index/randomPassword:RandomPassword::pw",
            type: "random:index/randomPassword:RandomPassword",
            name: "pw",
            props: { length: 24 },
            custom: true,
        });
        assert.deepStrictEqual(d, []);
    });

    it("applies Configure: levels and properties from a stack config", async () => {
        const dev = loadPolicyConfigFile(path.join(REPO, "policy", "config", "dev.json"));
        await pack.configure(resolvePolicySettings(info.policies, dev));
        const stack = await pack.analyzeStack(seed);
        const pdb = stack.filter((x) => x.policy === "ha-pdb-required");
        assert.ok(pdb.length > 0 && pdb.every((x) => x.enforcementLevel === "advisory"));
        const s = resolvePolicySettings(info.policies, {
            "ha-pdb-required": "disabled",
            "ha-spread-replicas": { exemptions: ["ReplicationController/controller"] },
        });
        await pack.configure(s);
        const again = await pack.analyzeStack(seed);
        assert.strictEqual(again.filter((x) => x.policy === "ha-pdb-required").length, 0);
        const spread = again.filter((x) => x.policy === "ha-spread-replicas");
        assert.deepStrictEqual(
            spread.map((x) => x.message.split(" ")[0]),
            ["ReplicationController/registry"],
        );
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
            r.ref === "ConfigMap/redis-config"
                ? { ...r, props: { ...r.props, data: { ...r.props.data, "redis.conf": UNKNOWN_STRING } } }
                : r,
        );
        const d = await pack.analyzeStack(conf);
        assert.ok(d.length > 0 && d.every((x) => x.enforcementLevel === "advisory" && /during preview/.test(x.message)), JSON.stringify(d));
    });

    it("reports every problem of one object over the protocol, not only the first", async () => {
        await pack.configure(resolvePolicySettings(info.policies, undefined));
        const sts = loadManifests(GOOD).find((r) => r.ref === "StatefulSet/redis")!;
        const props = JSON.parse(JSON.stringify(sts.props));
        const redis = props.spec.template.spec.containers.find((c: any) => c.name === "redis");
        redis.ports[0].hostPort = 6379;
        redis.securityContext.procMount = "Unmasked";
        const d = (await pack.analyze({ ...sts, props })).filter((x) => x.policy === "sec-no-host-access");
        assert.deepStrictEqual(
            d.map((x) => x.message.replace(/:.*/, "")),
            ["StatefulSet/redis container redis binds hostPort 6379", "StatefulSet/redis container redis sets procMount Unmasked"],
        );
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

describe("policy pack under the CLI's own launcher (run-policy-pack)", function () {
    this.timeout(300_000);

    it("gives the same info and findings as under packLauncher.js", async () => {
        const dir = path.join(REPO, "policy");
        const seed = loadManifests(SEED);
        const run = async (launcher?: string) => {
            const pack = await PolicyPackProcess.start(dir, undefined, launcher);
            try {
                const info = await pack.info();
                await pack.configure(resolvePolicySettings(info.policies, undefined));
                return { info, resources: await pack.analyzeAll(seed), stack: await pack.analyzeStack(seed) };
            } finally {
                await pack.stop();
            }
        };
        const cli = await run(RUN_POLICY_PACK);
        const ours = await run();
        assert.deepStrictEqual(ours, cli);
        assert.ok(cli.resources.flat().length > 0 && cli.stack.length > 0);
    });
});

describe("policy pack build freshness", () => {
    it("changes the source hash with any source file and ignores the output folder", () => {
        const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "pack-hash-"));
        try {
            fs.mkdirSync(path.join(tmp, "lib"));
            fs.writeFileSync(path.join(tmp, "index.ts"), "export const a = 1;\n");
            fs.writeFileSync(path.join(tmp, "lib", "rule.ts"), "export const b = 2;\n");
            fs.writeFileSync(path.join(tmp, "tsconfig.json"), "{}\n");
            const first = sourceHash(tmp);
            fs.mkdirSync(path.join(tmp, "bin"));
            fs.writeFileSync(path.join(tmp, "bin", "index.js"), "exports.a = 1;\n");
            assert.strictEqual(sourceHash(tmp), first, "tsc output is not a source");
            assert.ok(!isPackBuildCurrent(tmp), "no recorded build is never current");
            fs.writeFileSync(path.join(tmp, "lib", "rule.ts"), "export const b = 3;\n");
            assert.notStrictEqual(sourceHash(tmp), first);
            fs.writeFileSync(path.join(tmp, "lib", "rule.ts"), "export const b = 2;\n");
            fs.renameSync(path.join(tmp, "lib", "rule.ts"), path.join(tmp, "lib", "other.ts"));
            assert.notStrictEqual(sourceHash(tmp), first, "a renamed file counts");
        } finally {
            fs.rmSync(tmp, { recursive: true, force: true });
        }
    });
});
