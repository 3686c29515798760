import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseArgs } from "../../cli/check/args";
import { REDACTED, redact, relativePath, renderObject, writeObjects } from "../../cli/check/out";
import { launcherFor, toStructJs } from "../../cli/check/packRunner";
import { exitCode, renderJson, renderText } from "../../cli/check/report";
import { loadManifests, unwrapSecrets, withObject } from "../../cli/check/resources";
import { withEngineUrns } from "../../cli/program/engineUrns";
import { validateSchema } from "../../cli/check/schema";
import { GOOD, REPO, TRANSPILE_CACHE } from "./helpers";

describe("check argument parsing", () => {
    it("accepts --flag value and --flag=value", () => {
        assert.deepStrictEqual(parseArgs(["--stack=prod", "--json", "--out", "o", "--project-dir", "p"]), {
            stack: "prod",
            json: true,
            out: "o",
            projectDir: "p",
            help: false,
        });
        assert.strictEqual(parseArgs(["--manifests", "m.yaml", "--policy-config", "c.json"]).policyConfig, "c.json");
        assert.strictEqual(parseArgs(["--help"]).help, true);
    });
    it("rejects repeats, empty values, stray arguments and --project-dir without --stack", () => {
        assert.throws(() => parseArgs(["--stack", "a", "--stack", "b"]), /--stack given twice/);
        assert.throws(() => parseArgs(["--stack="]), /--stack needs a value/);
        assert.throws(() => parseArgs(["prod"]), /unexpected argument "prod"/);
        assert.throws(() => parseArgs(["--json=yes", "--stack", "x"]), /--json takes no value/);
        assert.throws(() => parseArgs(["--manifests", "m", "--project-dir", "p"]), /--project-dir only goes with --stack/);
    });
});

describe("manifest loading", () => {
    let tmp: string;
    beforeEach(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), "manifests-"))));
    afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

    it("reads folders recursively in sorted order, skips empty documents and expands Lists", () => {
        fs.mkdirSync(path.join(tmp, "b"));
        fs.writeFileSync(path.join(tmp, "b", "z.yml"), "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: z}\n");
        fs.writeFileSync(
            path.join(tmp, "a.yaml"),
            "---\napiVersion: v1\nkind: List\nitems:\n" +
                "- {apiVersion: v1, kind: Secret, metadata: {name: s, namespace: n}}\n" +
                "- {apiVersion: apps/v1, kind: Deployment, metadata: {name: d}}\n---\n",
        );
        fs.writeFileSync(path.join(tmp, "ignored.txt"), "not yaml");
        const rs = loadManifests(tmp);
        assert.deepStrictEqual(
            rs.map((r) => [r.type, r.name, r.ref, r.urn]),
            [
                ["kubernetes:core/v1:Secret", "n/s", "Secret/s", "urn:pulumi:manifests::a8-control-plane::kubernetes:core/v1:Secret::n/s"],
                [
                    "kubernetes:apps/v1:Deployment",
                    "d",
                    "Deployment/d",
                    "urn:pulumi:manifests::a8-control-plane::kubernetes:apps/v1:Deployment::d",
                ],
                [
                    "kubernetes:core/v1:ConfigMap",
                    "z",
                    "ConfigMap/z",
                    "urn:pulumi:manifests::a8-control-plane::kubernetes:core/v1:ConfigMap::z",
                ],
            ],
        );
    });
    it("rejects an object defined twice", () => {
        fs.writeFileSync(
            path.join(tmp, "a.yaml"),
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
        );
        assert.throws(() => loadManifests(tmp), /ConfigMap x is defined twice/);
    });
    it("fills apiVersion/kind from the type token and unwraps Pulumi secrets for program resources", () => {
        const r = withObject({
            urn: "u",
            type: "kubernetes:core/v1:Secret",
            name: "s",
            custom: true,
            props: {
                metadata: { name: "s" },
                stringData: { p: { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", value: "pw" } },
            },
        });
        assert.deepStrictEqual(r.object, { metadata: { name: "s" }, stringData: { p: "pw" }, apiVersion: "v1", kind: "Secret" });
        assert.strictEqual(r.ref, "Secret/s");
        assert.deepStrictEqual(unwrapSecrets([1, { a: undefined, b: 2 }]), [1, { b: 2 }]);
    });
});

describe("schema validation", () => {
    it("accepts the good fixture, reports every schema error, and notes unknown kinds", () => {
        for (const r of loadManifests(GOOD)) assert.deepStrictEqual(validateSchema(r.object!), { status: "valid" }, r.ref);
        assert.deepStrictEqual(
            validateSchema({ apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "x" }, spec: { replicas: "2" } }),
            {
                status: "invalid",
                message:
                    "spec must have required property selector, spec must have required property template, spec/replicas must be integer",
            },
        );
        assert.strictEqual(validateSchema({ apiVersion: "example.com/v1", kind: "Widget", metadata: { name: "w" } }).status, "unknown");
        assert.strictEqual(validateSchema({ apiVersion: "v1", kind: "NoSuchKind", metadata: { name: "w" } }).status, "unknown");
    });
});

describe("--out rendering", () => {
    it("names files by namespace, kind and name, lower-cased", () => {
        assert.strictEqual(
            relativePath({ kind: "StatefulSet", metadata: { name: "Redis", namespace: "a8" } }),
            path.join("a8", "statefulset-redis.yaml"),
        );
        assert.strictEqual(relativePath({ kind: "Namespace", metadata: { name: "a8" } }), path.join("_cluster", "namespace-a8.yaml"));
        assert.strictEqual(relativePath({ kind: "ConfigMap", metadata: { name: "c" } }), path.join("_default", "configmap-c.yaml"));
    });
    it("sorts keys at every level and redacts Secret values only", () => {
        assert.strictEqual(
            renderObject({ kind: "ConfigMap", apiVersion: "v1", metadata: { name: "c", labels: { z: "1", a: "2" } }, data: { k: "v" } }),
            'apiVersion: v1\ndata:\n  k: v\nkind: ConfigMap\nmetadata:\n  labels:\n    a: "2"\n    z: "1"\n  name: c\n',
        );
        assert.deepStrictEqual(redact({ kind: "Secret", data: { a: "eA==" }, stringData: { b: "x" } }), {
            kind: "Secret",
            data: { a: REDACTED },
            stringData: { b: REDACTED },
        });
    });
    it("puts objects that share kind and name in one file, deterministically", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "out-"));
        try {
            const a = { apiVersion: "autoscaling/v2", kind: "HorizontalPodAutoscaler", metadata: { name: "r", namespace: "n" } };
            const b = { ...a, apiVersion: "autoscaling/v1" };
            assert.deepStrictEqual(writeObjects(dir, [a, b]), [path.join("n", "horizontalpodautoscaler-r.yaml")]);
            const first = fs.readFileSync(path.join(dir, "n", "horizontalpodautoscaler-r.yaml"), "utf8");
            writeObjects(dir, [b, a]);
            assert.strictEqual(fs.readFileSync(path.join(dir, "n", "horizontalpodautoscaler-r.yaml"), "utf8"), first);
            assert.match(first, /autoscaling\/v1[\s\S]*---\n[\s\S]*autoscaling\/v2/);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});

describe("report and protocol helpers", () => {
    it("makes Struct-safe values", () => {
        assert.deepStrictEqual(toStructJs({ a: undefined, b: [undefined, NaN, 1], c: () => 1, d: { e: "x" } }), {
            b: [null, null, 1],
            d: { e: "x" },
        });
    });
    it("omits resource for stack-wide findings and exits 1 on mandatory findings or schema errors", () => {
        const base = { title: "t", pack: "p", resources: [], notes: [] };
        const rep = { ...base, violations: [{ policy: "x", enforcementLevel: "advisory" as const, message: "m" }], errors: [] };
        assert.deepStrictEqual(JSON.parse(renderJson(rep)), {
            resources: [],
            violations: [{ policy: "x", enforcementLevel: "advisory", message: "m" }],
            errors: [],
        });
        assert.strictEqual(exitCode(rep), 0);
        assert.strictEqual(exitCode({ ...rep, errors: [{ resource: "A/b", message: "bad" }] }), 1);
        assert.strictEqual(
            exitCode({ ...rep, violations: [{ policy: "x", enforcementLevel: "mandatory", resource: "A/b", message: "m" }] }),
            1,
        );
    });
});

describe("URNs as the Pulumi CLI shows them", () => {
    const p = "urn:pulumi:prod::proj::";
    it("spells out every ancestor component in the type chain, from mock-monitor URNs", () => {
        // The mock monitor names only the nearest parent type; the runner records each real parent.
        const resource = (urn: string, parent?: string) => {
            const [, , chain, name] = urn.split("::");
            const type = chain.split("$").pop() as string;
            return { urn, type, name, custom: !type.startsWith("a:"), inputs: {}, aliases: [], ...(parent ? { parent } : {}) };
        };
        const outer = `${p}a:index:Outer::app`;
        const mid = `${p}a:index:Outer$a:index:Mid::app-db`;
        const inner = `${p}a:index:Mid$a:index:Inner::app-db-ha`;
        const recorded = [
            resource(outer),
            resource(mid, outer),
            resource(inner, mid),
            resource(`${p}a:index:Inner$kubernetes:apps/v1:StatefulSet::app-db-ha-nodes`, inner),
            resource(`${p}a:index:Mid$random:index/randomPassword:RandomPassword::app-db-password`, mid),
            resource(`${p}kubernetes:core/v1:Namespace::ns`),
        ];
        const out = withEngineUrns(recorded);
        assert.deepStrictEqual(
            out.map((r) => r.urn),
            [
                `${p}a:index:Outer::app`,
                `${p}a:index:Outer$a:index:Mid::app-db`,
                `${p}a:index:Outer$a:index:Mid$a:index:Inner::app-db-ha`,
                `${p}a:index:Outer$a:index:Mid$a:index:Inner$kubernetes:apps/v1:StatefulSet::app-db-ha-nodes`,
                `${p}a:index:Outer$a:index:Mid$random:index/randomPassword:RandomPassword::app-db-password`,
                `${p}kubernetes:core/v1:Namespace::ns`,
            ],
        );
        assert.strictEqual(out[3].parent, out[2].urn, "parents point at the rewritten URNs");
    });
});

describe("report wording", () => {
    const row = { urn: "urn:pulumi:s::p::kubernetes:core/v1:Namespace::a", type: "kubernetes:core/v1:Namespace", name: "a" };
    const base = { title: "t", pack: "p", notes: [], errors: [] };
    it("gets plurals right in the summary", () => {
        const one = renderText({
            ...base,
            resources: [row],
            violations: [{ policy: "x", enforcementLevel: "mandatory", resource: "Namespace/a", message: "m" }],
        });
        assert.match(one, /^Summary: 1 resource, 1 mandatory violation of 1 policy, 0 advisory findings, 0 schema errors: FAIL$/m);
        const many = renderText({
            ...base,
            resources: [row, row],
            violations: [
                { policy: "x", enforcementLevel: "mandatory", message: "m" },
                { policy: "y", enforcementLevel: "mandatory", message: "m" },
                { policy: "z", enforcementLevel: "advisory", message: "m" },
            ],
            errors: [{ resource: "Namespace/a", message: "bad" }],
        });
        assert.match(many, /^Summary: 2 resources, 2 mandatory violations of 2 policies, 1 advisory finding, 1 schema error: FAIL$/m);
    });
});

describe("manifest input", () => {
    let tmp: string;
    before(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), "check-input-"))));
    after(() => fs.rmSync(tmp, { recursive: true, force: true }));
    const write = (name: string, content: string | Buffer) => {
        const file = path.join(tmp, name);
        fs.writeFileSync(file, content);
        return file;
    };
    const cm = (name: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  namespace: a\n`;

    it("refuses an input with no objects instead of passing it", () => {
        assert.throws(() => loadManifests(write("empty.yaml", "")), {
            name: "InputError",
            message: /^no Kubernetes objects in .*empty\.yaml$/,
        });
        assert.throws(() => loadManifests(write("comments.yaml", "# nothing\n---\n")), {
            message: /^no Kubernetes objects in .*comments\.yaml$/,
        });
    });
    it("refuses binary and non-UTF-8 files in one short line", () => {
        for (const [name, bytes] of [
            ["gzip.yaml", Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0xff, 0xfe, 0x00, 0x01])],
            ["latin1.yaml", Buffer.from("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: caf\xe9\n", "latin1")],
            ["nul.yaml", Buffer.from("apiVersion: v1\n\0\0\0")],
        ] as const) {
            const file = write(name, bytes);
            assert.throws(
                () => loadManifests(file),
                (e: Error) =>
                    e.name === "InputError" &&
                    !e.message.includes("\n") &&
                    e.message.length < 200 &&
                    e.message.startsWith(file) &&
                    /binary|UTF-8/.test(e.message),
                name,
            );
        }
    });
    it("names both documents, file and index, of two objects with the same kind, namespace and name", () => {
        const dir = path.join(tmp, "dupes");
        fs.mkdirSync(dir);
        fs.writeFileSync(path.join(dir, "a.yaml"), `${cm("x")}---\n${cm("same")}`);
        // A document indented as one entry of a List's items.
        const listItem = (doc: string) => doc.trimEnd().split("\n").join("\n    ");
        fs.writeFileSync(
            path.join(dir, "b.yaml"),
            `apiVersion: v1\nkind: List\nitems:\n  - ${listItem(cm("y"))}\n  - ${listItem(cm("same"))}\n`,
        );
        assert.throws(() => loadManifests(dir), {
            message:
                `ConfigMap a/same is defined twice: ${path.join(dir, "a.yaml")} document 2 and ` +
                `${path.join(dir, "b.yaml")} document 1 item 2`,
        });
    });
});

describe("transpile cache", () => {
    const cacheDir = path.join(REPO, "node_modules", ".cache", "a8-transpile");
    const entries = () => new Set(fs.existsSync(cacheDir) ? fs.readdirSync(cacheDir) : []);
    let tmp: string;
    let added: string[] = [];
    beforeEach(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), "transpile-"))));
    afterEach(() => {
        for (const name of added) fs.rmSync(path.join(cacheDir, name), { force: true });
        fs.rmSync(tmp, { recursive: true, force: true });
    });

    it("runs the edited source, and keeps one entry per file however often it changes", () => {
        const file = path.join(tmp, "probe.ts");
        const before = entries();
        for (const version of [1, 2, 3]) {
            fs.writeFileSync(file, `const version: number = ${version};\nconsole.log(version);\n`);
            const r = spawnSync(process.execPath, ["-r", TRANSPILE_CACHE, file], { encoding: "utf8", timeout: 60_000 });
            assert.strictEqual(r.stdout.trim(), String(version), r.stderr);
            added = [...entries()].filter((name) => !before.has(name));
            assert.strictEqual(added.length, 1, `cache entries of the probe after version ${version}: ${added.join(", ")}`);
        }
    });
});

describe("pack launcher", () => {
    const { lazyModule } = require("../../cli/check/lazyModule.js") as { lazyModule: (file: string) => () => boolean };

    it("defers loading a module until its exports are first used, then forwards to it", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lazy-module-"));
        const file = path.join(dir, "heavy.js");
        const g = globalThis as { heavyLoads?: number };
        try {
            fs.writeFileSync(
                file,
                "globalThis.heavyLoads = (globalThis.heavyLoads || 0) + 1;\nexports.asset = { kind: 'asset' };\nexports.n = 2;\n",
            );
            const loaded = lazyModule(file);
            const m = require(file);
            assert.strictEqual(g.heavyLoads, undefined, "requiring the stand-in does not load the module");
            assert.strictEqual(loaded(), false);
            assert.deepStrictEqual(m.asset, { kind: "asset" });
            assert.strictEqual(g.heavyLoads, 1);
            assert.ok("n" in m);
            assert.deepStrictEqual(Object.keys(m).sort(), ["asset", "n"]);
            assert.strictEqual(require(file).asset, m.asset, "later requires get the real module");
            assert.strictEqual(g.heavyLoads, 1, "loaded once");
        } finally {
            delete require.cache[file];
            delete g.heavyLoads;
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("starts a compiled pack with it and a TypeScript pack with the SDK's run-policy-pack", () => {
        assert.strictEqual(path.basename(launcherFor(path.join(REPO, "policy"))), "packLauncher.js");
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ts-pack-"));
        try {
            fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "p", main: "index.ts" }));
            fs.writeFileSync(path.join(dir, "index.ts"), "export {};\n");
            assert.match(launcherFor(dir), /run-policy-pack$/);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("exits 1 with the error when the pack fails to load", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "broken-pack-"));
        try {
            fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "p", main: "index.js" }));
            fs.writeFileSync(path.join(dir, "index.js"), "throw new Error('rule table is broken');\n");
            const r = spawnSync(process.execPath, [path.join(REPO, "cli", "check", "packLauncher.js"), "127.0.0.1:0", dir], {
                encoding: "utf8",
                timeout: 60_000,
            });
            assert.strictEqual(r.status, 1);
            assert.strictEqual(r.stdout, "", "no port printed");
            assert.match(r.stderr, /rule table is broken/);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
