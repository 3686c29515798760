/**
 * A stack without its own policy/config/<stack>.json is judged by the strictest config, and told
 * which policies it breaks and which file relaxes them for that stack alone.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { STRICTEST_POLICY_CONFIG, choosePolicyConfig, relaxAdvice } from "../../cli/check/policyConfig";
import { REPO_ROOT } from "../../cli/repoRoot";
import { runAll } from "../check/helpers";

const CONFIG_DIR = path.join(REPO_ROOT, "policy", "config");

describe("policy config of a stack", () => {
    it("is the stack's own file when there is one", () => {
        assert.deepEqual(choosePolicyConfig(CONFIG_DIR, { stack: "staging" }), { file: path.join(CONFIG_DIR, "staging.json") });
    });

    it("is the strictest (prod.json) for a stack without one, and for plain manifests", () => {
        assert.equal(STRICTEST_POLICY_CONFIG, "prod.json");
        assert.deepEqual(choosePolicyConfig(CONFIG_DIR, { stack: "mystack" }), {
            file: path.join(CONFIG_DIR, "prod.json"),
            missingOwn: path.join(CONFIG_DIR, "mystack.json"),
        });
        assert.deepEqual(choosePolicyConfig(CONFIG_DIR, {}), { file: path.join(CONFIG_DIR, "prod.json") });
        assert.deepEqual(choosePolicyConfig(CONFIG_DIR, { stack: "mystack", policyConfig: "mine.json" }), { file: "mine.json" });
    });

    it("advises only a stack judged by the strictest config that breaks something", () => {
        const fallback = choosePolicyConfig(CONFIG_DIR, { stack: "mystack" });
        assert.equal(relaxAdvice("mystack", fallback, []), undefined);
        assert.equal(relaxAdvice("staging", choosePolicyConfig(CONFIG_DIR, { stack: "staging" }), ["ha-min-replicas"]), undefined);
        const advice = relaxAdvice("mystack", fallback, ["redis-ha-topology", "ha-min-replicas", "ha-min-replicas"], (p) =>
            path.relative(REPO_ROOT, p),
        );
        assert.equal(
            advice,
            "stack mystack has no policy/config/mystack.json, so it was judged by policy/config/prod.json (the strictest).\n" +
                "It breaks: ha-min-replicas, redis-ha-topology.\n" +
                "If that is deliberate (a small set-up), create policy/config/mystack.json to relax them for mystack only, " +
                'e.g. {"ha-min-replicas":"advisory","redis-ha-topology":"advisory"},\n' +
                "and deploy with --policy-pack-config policy/config/mystack.json. " +
                "See policy/config/dev.json for a laptop cluster's levels.",
        );
    });

    describe("npm run check on a new stack: empty, or a copy of a shipped one", function () {
        let tmp: string;
        let devCopy: Awaited<ReturnType<typeof runAll>>[number];
        let prodCopy: Awaited<ReturnType<typeof runAll>>[number];
        let unconfigured: Awaited<ReturnType<typeof runAll>>[number];
        before(async function () {
            this.timeout(240_000);
            tmp = fs.mkdtempSync(path.join(os.tmpdir(), "a8-new-stack-"));
            fs.copyFileSync(path.join(REPO_ROOT, "Pulumi.yaml"), path.join(tmp, "Pulumi.yaml"));
            fs.copyFileSync(path.join(REPO_ROOT, "Pulumi.dev.yaml"), path.join(tmp, "Pulumi.devcopy.yaml"));
            fs.copyFileSync(path.join(REPO_ROOT, "Pulumi.prod.yaml"), path.join(tmp, "Pulumi.prodcopy.yaml"));
            fs.writeFileSync(path.join(tmp, "Pulumi.bare.yaml"), "config: {}\n");
            [devCopy, prodCopy, unconfigured] = await runAll([
                ["--stack", "devcopy", "--project-dir", tmp, "--json"],
                ["--stack", "prodcopy", "--project-dir", tmp],
                ["--stack", "bare", "--project-dir", tmp, "--json"],
            ]);
        });
        after(() => fs.rmSync(tmp, { recursive: true, force: true }));

        it("an unconfigured stack (the defaults) passes the strictest config with Redis ha", () => {
            assert.equal(unconfigured.code, 0, unconfigured.stdout + unconfigured.stderr);
            const report = JSON.parse(unconfigured.stdout);
            assert.deepEqual(
                report.violations.filter((v: { enforcementLevel: string }) => v.enforcementLevel === "mandatory"),
                [],
            );
            assert.ok(
                report.resources.some((r: { object?: string }) => r.object === "StatefulSet/redis-node"),
                "the HA Redis set is rendered",
            );
        });

        it("a copy of prod passes under the strictest config", () => {
            assert.equal(prodCopy.code, 0, prodCopy.stdout + prodCopy.stderr);
            assert.match(prodCopy.stdout, /with config policy\/config\/prod\.json/);
        });

        it("a copy of dev is told which policies it breaks and which file relaxes them", () => {
            assert.equal(devCopy.code, 1, devCopy.stderr);
            const broken = new Set<string>(
                JSON.parse(devCopy.stdout)
                    .violations.filter((v: { enforcementLevel: string }) => v.enforcementLevel === "mandatory")
                    .map((v: { policy: string }) => v.policy),
            );
            assert.ok(broken.has("ha-min-replicas") && broken.has("redis-ha-topology"), [...broken].join(", "));
            assert.match(
                devCopy.stderr,
                /stack devcopy has no policy\/config\/devcopy\.json, so it was judged by policy\/config\/prod\.json \(the strictest\)/,
            );
            assert.ok(devCopy.stderr.includes(`It breaks: ${[...broken].sort().join(", ")}.`), devCopy.stderr);
            assert.match(devCopy.stderr, /create policy\/config\/devcopy\.json to relax them for devcopy only/);
        });
    });
});
