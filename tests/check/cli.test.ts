/**
 * `check` end to end, as its own process: exit codes, bad input, the upstream seed, the good
 * fixture, --out stability, and the project's stacks under their own policy configs.
 */
import * as assert from "assert";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { FIXTURES, GOOD, JsonReport, REPO, Run, SEED, mandatory, parseReport, runAll, runCheck } from "./helpers";

function assertBadInput(r: Run, re: RegExp): void {
    assert.strictEqual(r.code, 2, `exit code (stderr: ${r.stderr})`);
    assert.strictEqual(r.stdout, "");
    // The one notice a working tree may add: an edited pack is compiled before it runs.
    const lines = r.stderr
        .trimEnd()
        .split("\n")
        .filter((l) => !/^policy pack sources changed: compiling .* \(once\)$/.test(l));
    assert.strictEqual(lines.length, 1, `one line on stderr, got:\n${r.stderr}`);
    assert.match(lines[0], /^check: /);
    assert.match(lines[0], re);
}

describe("check: bad input exits 2 with one line on stderr", () => {
    let tmp: string;
    before(() => {
        tmp = fs.mkdtempSync(path.join(os.tmpdir(), "check-bad-"));
        fs.writeFileSync(path.join(tmp, "invalid.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [unclosed\n");
        fs.writeFileSync(path.join(tmp, "not-k8s.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ok\n---\njust: a map\n");
        fs.writeFileSync(path.join(tmp, "no-name.yml"), "apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n");
        fs.writeFileSync(path.join(tmp, "scalar.yaml"), "hello\n");
        fs.writeFileSync(path.join(tmp, "bad.json"), "{ not json");
        fs.mkdirSync(path.join(tmp, "empty"));
        fs.writeFileSync(path.join(tmp, "nothing.yaml"), "# only a comment\n---\n---\n");
        // A gzip header and random bytes, as a .yaml, and a UTF-16 text file.
        fs.writeFileSync(path.join(tmp, "archive.yaml"), Buffer.concat([Buffer.from([0x1f, 0x8b, 0x08, 0x00]), crypto.randomBytes(4096)]));
        fs.writeFileSync(path.join(tmp, "utf16.yaml"), Buffer.from("\ufeffapiVersion: v1\nkind: ConfigMap\n", "utf16le"));
        fs.mkdirSync(path.join(tmp, "dupes"));
        const cm = (name: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  namespace: amalgam8\n`;
        fs.writeFileSync(path.join(tmp, "dupes", "a.yaml"), `${cm("one")}---\n${cm("settings")}`);
        fs.writeFileSync(path.join(tmp, "dupes", "b.yaml"), `${cm("two")}---\n${cm("three")}---\n${cm("settings")}`);
        // A project whose prod stack config the program rejects.
        fs.mkdirSync(path.join(tmp, "project"));
        fs.copyFileSync(path.join(REPO, "Pulumi.yaml"), path.join(tmp, "project", "Pulumi.yaml"));
        fs.writeFileSync(path.join(tmp, "project", "Pulumi.prod.yaml"), "config:\n  a8-control-plane:storage: floppy\n");
    });
    after(() => fs.rmSync(tmp, { recursive: true, force: true }));

    // Each case is a quick process of its own; running them side by side keeps the suite fast.
    const cases: [string, () => string[], RegExp][] = [
        ["a missing file", () => ["--manifests", path.join(tmp, "nope.yaml")], /cannot read .*nope\.yaml: no such file or directory/],
        ["invalid YAML", () => ["--manifests", path.join(tmp, "invalid.yaml")], /invalid YAML in .*invalid\.yaml/],
        [
            "a document that is not a Kubernetes object",
            () => ["--manifests", path.join(tmp, "not-k8s.yaml")],
            /not-k8s\.yaml document 2 is not a Kubernetes object/,
        ],
        [
            "an object without metadata.name",
            () => ["--manifests", path.join(tmp, "no-name.yml")],
            /no-name\.yml document 1 is not a Kubernetes object/,
        ],
        ["a scalar document", () => ["--manifests", path.join(tmp, "scalar.yaml")], /scalar\.yaml document 1 is not a Kubernetes object/],
        ["a folder without YAML", () => ["--manifests", path.join(tmp, "empty")], /no \.yaml or \.yml files under/],
        [
            "a file with no objects (never a green PASS)",
            () => ["--manifests", path.join(tmp, "nothing.yaml")],
            /^check: no Kubernetes objects in .*nothing\.yaml$/,
        ],
        [
            "a binary file",
            () => ["--manifests", path.join(tmp, "archive.yaml")],
            /^check: .*archive\.yaml is not UTF-8 text \(a binary file or another encoding\): give YAML manifests$/,
        ],
        ["a UTF-16 file", () => ["--manifests", path.join(tmp, "utf16.yaml")], /^check: .*utf16\.yaml is (not UTF-8 text|a binary file)/],
        [
            "two objects with the same kind, namespace and name, naming both documents",
            () => ["--manifests", path.join(tmp, "dupes")],
            /^check: ConfigMap amalgam8\/settings is defined twice: .*dupes\/a\.yaml document 2 and .*dupes\/b\.yaml document 3$/,
        ],
        ["an unknown flag", () => ["--manifests", SEED, "--colour"], /unknown flag --colour/],
        ["a flag without its value", () => ["--manifests"], /--manifests needs a value/],
        ["a flag followed by another flag", () => ["--stack", "--json"], /--stack needs a value/],
        ["no source", () => ["--json"], /give exactly one of --stack <name> or --manifests/],
        ["two sources", () => ["--stack", "dev", "--manifests", SEED], /give exactly one of/],
        ["an unknown stack", () => ["--stack", "qa"], /unknown stack "qa" \(no Pulumi\.qa\.yaml; stacks: dev, e2e, prod, staging\)/],
        [
            "an invalid stack config",
            () => ["--stack", "prod", "--project-dir", path.join(tmp, "project")],
            /a8-control-plane:storage.*floppy/,
        ],
        [
            "a missing policy config",
            () => ["--manifests", SEED, "--policy-config", path.join(tmp, "none.json")],
            /cannot read policy config .*none\.json: no such file/,
        ],
        [
            "a policy config that is not JSON",
            () => ["--manifests", SEED, "--policy-config", path.join(tmp, "bad.json")],
            /policy config .*bad\.json is not valid JSON/,
        ],
    ];
    let results: Run[];
    before(async function () {
        this.timeout(120_000);
        results = await runAll(
            cases.map(([, args]) => args()),
            4,
        );
    });
    cases.forEach(([what, , re], i) => {
        it(what, () => {
            assertBadInput(results[i], re);
            assert.ok(results[i].stderr.trimEnd().length < 200 + tmp.length, `short: ${results[i].stderr}`);
        });
    });

    it("a policy config naming an unknown policy (after the pack answered, which is then stopped)", async () => {
        const file = path.join(tmp, "typo.json");
        fs.writeFileSync(file, JSON.stringify({ "ha-min-replica": "advisory" }));
        assertBadInput(await runCheck(["--manifests", SEED, "--policy-config", file]), /unknown policy "ha-min-replica"/);
    });

    it("prints usage for --help and exits 0", async () => {
        const r = await runCheck(["--help"]);
        assert.strictEqual(r.code, 0);
        assert.match(r.stdout, /^Usage: npm run check -- \(--stack <name> \| --manifests <file\|dir\|->\)/);
        assert.match(r.stdout, /Exit codes: 0/);
    });
});

describe("check: manifests", () => {
    let seed: Run;
    let seedDev: Run;
    let good1: Run;
    let good2: Run;
    let invalid: Run;
    let out: string;
    let tmp: string;
    let firstRun: Map<string, Buffer>;

    function snapshot(dir: string, prefix = ""): Map<string, Buffer> {
        const m = new Map<string, Buffer>();
        for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
            const rel = prefix + e.name;
            if (e.isDirectory()) for (const [k, v] of snapshot(path.join(dir, e.name), `${rel}/`)) m.set(k, v);
            else m.set(rel, fs.readFileSync(path.join(dir, e.name)));
        }
        return m;
    }

    before(async function () {
        this.timeout(240_000);
        tmp = fs.mkdtempSync(path.join(os.tmpdir(), "check-out-"));
        out = path.join(tmp, "rendered");
        [seed, seedDev, invalid] = await runAll([
            ["--manifests", SEED, "--json"],
            ["--manifests", SEED, "--json", "--policy-config", path.join(REPO, "policy", "config", "dev.json")],
            ["--manifests", path.join(FIXTURES, "manifests", "invalid"), "--json"],
        ]);
        good1 = await runCheck(["--manifests", GOOD, "--out", out]);
        firstRun = snapshot(out);
        fs.writeFileSync(path.join(out, "NOTES.txt"), "not written by check\n");
        good2 = await runCheck(["--manifests", GOOD, "--json", "--out", out]);
    });
    after(() => fs.rmSync(tmp, { recursive: true, force: true }));

    it("flags the upstream seed with at least eight distinct mandatory policies and exits 1", () => {
        assert.strictEqual(seed.code, 1, seed.stderr);
        const rep = parseReport(seed);
        const policies = new Set(mandatory(rep).map((v) => v.policy));
        assert.ok(policies.size >= 8, `only ${[...policies].join(", ")}`);
        for (const p of [
            "redis-ha-topology", // a single Redis
            "sec-redis-not-exposed", // NodePort 31400
            "sec-redis-auth", // no password
            "redis-persistence", // no volume, no AOF
            "rel-readiness-probe", // no probes
            "rel-image-pinned", // untagged images
            "rel-no-replication-controller", // ReplicationControllers
            "ha-pdb-required", // no PDB
            "sec-redis-network-policy", // no NetworkPolicy
        ]) {
            assert.ok(policies.has(p), `seed not flagged by ${p}`);
        }
        const exposed = rep.violations.find((v) => v.policy === "sec-redis-not-exposed")!;
        assert.strictEqual(exposed.resource, "Service/redis");
        assert.match(exposed.message, /Make it type ClusterIP/);
        assert.deepStrictEqual(
            rep.resources.map((r) => r.object),
            [
                "Service/redis",
                "ReplicationController/redis",
                "Service/controller",
                "ReplicationController/controller",
                "Service/registry",
                "ReplicationController/registry",
            ],
        );
        assert.deepStrictEqual(rep.errors, []);
        for (const v of rep.violations) {
            assert.ok(["mandatory", "advisory"].includes(v.enforcementLevel));
            assert.ok(!v.message.startsWith(v.policy), "message carries no policy description prefix");
        }
    });

    it("applies --policy-config instead of the prod default", () => {
        const prodPdb = parseReport(seed).violations.filter((v) => v.policy === "ha-pdb-required");
        const devPdb = parseReport(seedDev).violations.filter((v) => v.policy === "ha-pdb-required");
        assert.ok(prodPdb.length > 0 && prodPdb.every((v) => v.enforcementLevel === "mandatory"));
        assert.ok(devPdb.length > 0 && devPdb.every((v) => v.enforcementLevel === "advisory"));
        assert.strictEqual(seedDev.code, 1, "the seed still breaks mandatory security rules under dev");
    });

    it("passes the good fixture with no mandatory violation and prints a preview-like table", () => {
        assert.strictEqual(good1.code, 0, good1.stdout + good1.stderr);
        assert.match(good1.stdout, /^\s+Type\s+Name\s+Object$/m);
        assert.match(good1.stdout, /kubernetes:apps\/v1:StatefulSet\s+amalgam8\/redis\s+StatefulSet\/redis/);
        assert.match(good1.stdout, /^Summary: 18 resources, 0 mandatory violations, 0 advisory findings, 0 schema errors: PASS$/m);
        const rep = parseReport(good2);
        assert.deepStrictEqual(mandatory(rep), []);
        assert.strictEqual(good2.code, 0);
    });

    it("reads --manifests - from standard input, as from a pipe (helm template ... | npm run check -- --manifests -)", async () => {
        const text = fs
            .readdirSync(GOOD)
            .sort()
            .map((f) => fs.readFileSync(path.join(GOOD, f), "utf8"))
            .join("\n---\n");
        const [piped, empty] = await Promise.all([
            runCheck(["--manifests", "-", "--json"], 120_000, text),
            runCheck(["--manifests", "-"], 120_000, ""),
        ]);
        assert.strictEqual(piped.code, 0, piped.stderr);
        assert.deepStrictEqual(
            parseReport(piped).resources.map((r) => r.object),
            parseReport(good2).resources.map((r) => r.object),
        );
        assertBadInput(empty, /^check: no Kubernetes objects in standard input$/);
    });

    it("writes byte-identical files on two runs, keeping a file it did not write (more in out.test.ts)", () => {
        const second = snapshot(out);
        const files = [...second.keys()].sort();
        assert.ok(files.includes("amalgam8/statefulset-redis.yaml"));
        assert.ok(files.includes("_cluster/namespace-amalgam8.yaml"));
        assert.ok(files.includes("NOTES.txt"), "a file check did not write is kept");
        assert.strictEqual(files.filter((f) => f.endsWith(".yaml")).length, 18);
        assert.deepStrictEqual(
            [...firstRun.keys()].filter((f) => f.endsWith(".yaml")).sort(),
            files.filter((f) => f.endsWith(".yaml")),
        );
        for (const f of firstRun.keys()) {
            assert.ok(second.get(f)!.equals(firstRun.get(f)!), `${f} differs between runs`);
        }
    });

    it("redacts Secret data and sorts keys", () => {
        const text = fs.readFileSync(path.join(out, "amalgam8", "secret-redis-auth.yaml"), "utf8");
        assert.doesNotMatch(text, /Zml4dHVyZS1wYXNzd29yZC1ub3QtcmVhbA/);
        assert.deepStrictEqual(YAML.parse(text).data, { password: "<redacted>" });
        assert.deepStrictEqual(Object.keys(YAML.parse(text)), ["apiVersion", "data", "kind", "metadata", "type"]);
    });

    it("reports schema errors (exit 1) and notes kinds without a schema", () => {
        assert.strictEqual(invalid.code, 1, invalid.stderr);
        const rep: JsonReport = parseReport(invalid);
        assert.deepStrictEqual(rep.errors, [{ resource: "Deployment/broken", message: "spec/replicas must be integer" }]);
        const crd = rep.resources.find((r) => r.object === "RedisFailover/cache");
        assert.strictEqual(crd?.schema, "unknown");
        assert.strictEqual(rep.resources.find((r) => r.object === "Deployment/broken")?.schema, "invalid");
    });
});

describe("check: the project's stacks", () => {
    let runs: Run[];
    let tmp: string;
    let out: string;

    before(async function () {
        this.timeout(300_000);
        // prod's configuration with a single controller replica, in a scratch project folder.
        tmp = fs.mkdtempSync(path.join(os.tmpdir(), "check-stack-"));
        fs.copyFileSync(path.join(REPO, "Pulumi.yaml"), path.join(tmp, "Pulumi.yaml"));
        const prod = YAML.parseDocument(fs.readFileSync(path.join(REPO, "Pulumi.prod.yaml"), "utf8"));
        prod.setIn(["config", "a8-control-plane:controller", "replicas"], 1);
        fs.writeFileSync(path.join(tmp, "Pulumi.prod.yaml"), prod.toString());
        out = path.join(tmp, "prod-rendered");
        // Four checks at once, each with its own policy pack: all must finish.
        runs = await runAll(
            [
                ["--stack", "dev", "--json"],
                ["--stack", "staging", "--json"],
                ["--stack", "prod", "--json", "--out", out],
                ["--stack", "prod", "--project-dir", tmp, "--json"],
            ],
            4,
        );
    });

    it("runs four checks at once without a pack failing to start", () => {
        for (const r of runs) assert.notStrictEqual(r.code, 3, r.stderr);
    });

    it("shows the URNs the Pulumi CLI shows: the full chain of parent types", () => {
        const urns = parseReport(runs[2]).resources.map((r) => r.urn);
        const p = "urn:pulumi:prod::a8-control-plane::";
        for (const urn of [
            `${p}amalgam8:index:ControlPlane::a8`,
            `${p}amalgam8:index:ControlPlane$amalgam8:index:Redis$random:index/randomPassword:RandomPassword::a8-redis-password`,
            `${p}amalgam8:index:ControlPlane$amalgam8:index:Redis$amalgam8:redis:RedisHa$amalgam8:redis:RedisNodes` +
                `$kubernetes:apps/v1:StatefulSet::a8-redis-ha-nodes-statefulset`,
            `${p}amalgam8:index:ControlPlane$amalgam8:index:ApiService$kubernetes:apps/v1:Deployment::a8-controller-deployment`,
        ]) {
            assert.ok(urns.includes(urn), `${urn} not among\n${urns.join("\n")}`);
        }
    });
    after(() => fs.rmSync(tmp, { recursive: true, force: true }));

    for (const [i, stack] of ["dev", "staging", "prod"].entries()) {
        it(`${stack} has no mandatory violation under policy/config/${stack}.json`, () => {
            const r = runs[i];
            const rep = parseReport(r);
            assert.deepStrictEqual(mandatory(rep), [], JSON.stringify(mandatory(rep), null, 1));
            assert.deepStrictEqual(rep.errors, []);
            assert.strictEqual(r.code, 0, r.stderr);
            assert.ok(rep.resources.some((x) => x.object === "Deployment/controller"));
        });
    }

    it("dev still reports its HA shortcuts as advisories", () => {
        const adv = parseReport(runs[0]).violations.filter((v) => v.policy === "ha-min-replicas");
        assert.ok(adv.length > 0 && adv.every((v) => v.enforcementLevel === "advisory"));
    });

    it("renders prod's objects with the generated Redis password redacted", () => {
        const secret = YAML.parse(fs.readFileSync(path.join(out, "amalgam8", "secret-redis-auth.yaml"), "utf8"));
        assert.strictEqual(secret.kind, "Secret");
        const values = Object.values({ ...(secret.data ?? {}), ...(secret.stringData ?? {}) });
        assert.ok(values.length > 0 && values.every((v) => v === "<redacted>"), JSON.stringify(secret));
        assert.ok(fs.existsSync(path.join(out, "amalgam8", "statefulset-redis-node.yaml")));
    });

    it("prod with controller.replicas: 1 exits 1 naming the controller", () => {
        const r = runs[3];
        assert.strictEqual(r.code, 1, r.stderr);
        const hit = mandatory(parseReport(r)).filter((v) => v.resource === "Deployment/controller");
        const min = hit.find((v) => v.policy === "ha-min-replicas");
        assert.ok(min, JSON.stringify(hit));
        assert.match(min!.message, /runs 1 replica, fewer than the 3 required: .*\(stack key a8-control-plane:controller\.replicas\)/);
        assert.strictEqual(
            min!.urn,
            "urn:pulumi:prod::a8-control-plane::amalgam8:index:ControlPlane$amalgam8:index:ApiService$" +
                "kubernetes:apps/v1:Deployment::a8-controller-deployment",
        );
    });
});
