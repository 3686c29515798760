/**
 * The pack as a whole, without starting it: names, schemas, the catalogue, the per-stack configs
 * and docs/policies.md stay consistent with the policy modules.
 */
import * as assert from "assert";
import * as fs from "fs";
import { builtinModules } from "module";
import * as path from "path";
import { CATALOGUE, CATEGORY_PREFIXES, CATEGORY_TITLES, Category } from "../../policy/catalogue";
import { amalgam8Policies } from "../../policy/policies/amalgam8";
import { haPolicies } from "../../policy/policies/ha";
import { hygienePolicies } from "../../policy/policies/hygiene";
import { redisPolicies } from "../../policy/policies/redis";
import { reliabilityPolicies } from "../../policy/policies/reliability";
import { securityPolicies } from "../../policy/policies/security";
import { servicePolicies } from "../../policy/policies/services";
import { PolicyInfo } from "../../cli/check/packRunner";
import { POLICIES_DOC, policiesDoc } from "../../tools/docs/policies";
import { loadPolicyConfigFile, resolvePolicySettings } from "../../cli/check/policyConfig";

const POLICY_DIR = path.join(__dirname, "..", "..", "policy");
const ALL = CATALOGUE.map((e) => e.policy);

function infos(): PolicyInfo[] {
    return CATALOGUE.map((e) => ({ p: e.policy, e })).map(({ p, e }) => ({
        name: p.name,
        description: p.description,
        enforcementLevel: p.enforcementLevel ?? "advisory",
        type: "validateStack" in p ? "stack" : "resource",
        severity: e.severity,
        tags: e.tags,
        remediationSteps: e.fix,
        properties: p.configSchema?.properties ?? {},
        required: p.configSchema?.required ?? [],
    }));
}

const HA_RULES = [
    "ha-min-replicas",
    "ha-pdb-required",
    "ha-pdb-allows-disruption",
    "ha-spread-replicas",
    "ha-rolling-update",
    "ha-hpa-consistency",
    "redis-ha-topology",
];

describe("policy pack structure", () => {
    it("has unique kebab-case policy names with descriptions", () => {
        const names = ALL.map((p) => p.name);
        assert.strictEqual(new Set(names).size, names.length);
        for (const p of ALL) {
            assert.match(p.name, /^[a-z0-9]+(-[a-z0-9]+)+$/);
            assert.ok(p.description.length > 20, p.name);
            assert.ok(p.enforcementLevel === "mandatory" || p.enforcementLevel === "advisory", p.name);
        }
    });
    it("gives every config property a default and an exemptions list to every policy", () => {
        for (const p of ALL) {
            const props = p.configSchema?.properties ?? {};
            assert.ok(props.exemptions, `${p.name} has no exemptions`);
            for (const [k, s] of Object.entries(props)) {
                assert.ok(s.default !== undefined, `${p.name}.${k} has no default`);
            }
        }
    });
    it("catalogues every rule of every module once, with all its metadata", () => {
        const modules = [
            haPolicies,
            redisPolicies,
            amalgam8Policies,
            reliabilityPolicies,
            servicePolicies,
            securityPolicies,
            hygienePolicies,
        ].flat();
        assert.deepStrictEqual(
            CATALOGUE.map((e) => e.policy),
            modules,
        );
        for (const e of CATALOGUE) {
            assert.ok(e.category in CATEGORY_TITLES, e.id);
            assert.strictEqual(e.id, e.policy.name);
            assert.strictEqual(e.enforcementLevel, e.policy.enforcementLevel);
            for (const text of [e.checks, e.protectsAgainst, e.fix])
                assert.ok(text.length > 20 && /[.)]$/.test(text), `${e.id}: "${text}"`);
            assert.strictEqual(typeof e.amalgam8Specific, "boolean", e.id);
            assert.deepStrictEqual(e.configSchema, e.policy.configSchema, e.id);
        }
        assert.ok(CATALOGUE.some((e) => e.amalgam8Specific) && CATALOGUE.some((e) => !e.amalgam8Specific));
    });
    it("keeps each rule in the module of its id prefix, and nothing but rules in policies/", () => {
        for (const e of CATALOGUE) assert.ok(e.id.startsWith(`${CATEGORY_PREFIXES[e.category]}-`), `${e.id} is filed under ${e.category}`);
        const dir = path.join(POLICY_DIR, "policies");
        const files = fs.readdirSync(dir).filter((f) => f.endsWith(".ts"));
        assert.deepStrictEqual(files.map((f) => f.slice(0, -".ts".length)).sort(), Object.keys(CATEGORY_TITLES).sort());
        for (const f of files) {
            const category = f.slice(0, -".ts".length) as Category;
            const rules = CATALOGUE.filter((e) => e.category === category).map((e) => e.policy);
            for (const [name, value] of Object.entries(require(path.join(dir, f)))) {
                if (Array.isArray(value)) assert.deepStrictEqual(value, rules, `${f}: ${name} lists the module's rules`);
                else assert.ok(rules.includes(value as (typeof rules)[number]), `${f} exports ${name}, which is not one of its rules`);
            }
        }
    });
    it("ships PulumiPolicy.yaml (nodejs) and a package.json whose main is the tsc output", () => {
        assert.match(fs.readFileSync(path.join(POLICY_DIR, "PulumiPolicy.yaml"), "utf8"), /^runtime: nodejs$/m);
        const pkg = JSON.parse(fs.readFileSync(path.join(POLICY_DIR, "package.json"), "utf8"));
        assert.match(pkg.version, /^\d+\.\d+\.\d+$/);
        const tsconfig = JSON.parse(fs.readFileSync(path.join(POLICY_DIR, "tsconfig.json"), "utf8"));
        assert.deepStrictEqual(tsconfig.files, ["index.ts"]);
        assert.strictEqual(pkg.main, path.posix.join(tsconfig.compilerOptions.outDir, "index.js"));
        const root = JSON.parse(fs.readFileSync(path.join(POLICY_DIR, "..", "package.json"), "utf8"));
        assert.match(root.scripts.prepare, /build:policy/, "npm ci builds the pack");
    });
    it("declares exactly the packages its sources import (type-only ones as devDependencies), and the program's own Pulumi SDK", () => {
        const sources = (dir: string): string[] =>
            fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
                const full = path.join(dir, e.name);
                if (e.isDirectory()) return e.name === "bin" || e.name === "node_modules" ? [] : sources(full);
                return e.name.endsWith(".ts") ? [full] : [];
            });
        const imported = { runtime: new Set<string>(), typeOnly: new Set<string>() };
        for (const file of sources(POLICY_DIR)) {
            for (const [statement, spec] of fs.readFileSync(file, "utf8").matchAll(/(?:^import [^;]*?from |require\()"([^."][^"]*)"/gm)) {
                if (builtinModules.includes(spec)) continue;
                const parts = spec.split("/");
                const name = spec.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
                (statement.startsWith("import type ") ? imported.typeOnly : imported.runtime).add(name);
            }
        }
        for (const name of imported.runtime) imported.typeOnly.delete(name);
        const pkg = JSON.parse(fs.readFileSync(path.join(POLICY_DIR, "package.json"), "utf8"));
        const root = JSON.parse(fs.readFileSync(path.join(POLICY_DIR, "..", "package.json"), "utf8"));
        // @pulumi/policy runs on the SDK it is given: the pack pins the one the program runs on.
        assert.deepStrictEqual(Object.keys(pkg.dependencies).sort(), [...imported.runtime, "@pulumi/pulumi"].sort());
        assert.deepStrictEqual(Object.keys(pkg.devDependencies ?? {}).sort(), [...imported.typeOnly].sort());
        assert.ok(imported.typeOnly.has("kubernetes-models"), "the rules read pods through kubernetes-models' types");
        for (const [name, range] of Object.entries({ ...pkg.dependencies, ...pkg.devDependencies })) {
            assert.strictEqual(
                range,
                root.dependencies[name] ?? root.devDependencies[name],
                `${name}: the version the repository installs`,
            );
        }
    });

    it("docs/policies.md is the table generated from the catalogue (npm run docs:policies)", () => {
        const doc = fs.readFileSync(POLICIES_DOC, "utf8");
        assert.ok(doc === policiesDoc(), "docs/policies.md drifted from policy/catalogue.ts: run npm run docs:policies");
        for (const e of CATALOGUE) {
            const row = doc.split("\n").find((l) => l.startsWith(`| \`${e.id}\` |`));
            assert.ok(row, `no row for ${e.id}`);
            assert.ok(row!.startsWith(`| \`${e.id}\` | ${e.enforcementLevel} | ${e.checks.replace(/\|/g, "\\|")} |`), e.id);
        }
    });
    it("keeps the README's policy section short: commands and a link to docs/policies.md", () => {
        const readme = fs.readFileSync(path.join(POLICY_DIR, "..", "README.md"), "utf8");
        assert.match(readme, /\]\(docs\/policies\.md\)/);
        for (const e of CATALOGUE) assert.ok(!readme.includes(`| \`${e.id}\` |`), `README still has a table row for ${e.id}`);
    });
    it("has a test file that names every policy", () => {
        const tests = fs
            .readdirSync(__dirname)
            .filter((f) => f.endsWith(".test.ts"))
            .map((f) => fs.readFileSync(path.join(__dirname, f), "utf8"))
            .join("\n");
        for (const p of ALL) assert.ok(tests.includes(`describe("${p.name}`), `no describe block for ${p.name}`);
    });
});

describe("per-stack policy configs", () => {
    const settings = (stack: string) =>
        resolvePolicySettings(infos(), loadPolicyConfigFile(path.join(POLICY_DIR, "config", `${stack}.json`)), stack);

    it("dev makes the HA rules advisory but keeps correctness and security mandatory", () => {
        const s = settings("dev");
        for (const r of HA_RULES) assert.strictEqual(s.get(r)?.enforcementLevel, "advisory", r);
        for (const r of ["ha-no-replicated-memory-store", "sec-redis-auth", "sec-run-as-non-root", "rel-image-pinned"]) {
            assert.strictEqual(s.get(r)?.enforcementLevel, "mandatory", r);
        }
    });
    it("staging and prod keep every HA rule mandatory; prod asks for 3 replicas", () => {
        for (const stack of ["staging", "prod"]) {
            const s = settings(stack);
            for (const r of HA_RULES) assert.strictEqual(s.get(r)?.enforcementLevel, "mandatory", `${stack} ${r}`);
            assert.strictEqual(s.get("svc-internal-only")?.enforcementLevel, "mandatory");
        }
        assert.strictEqual(settings("staging").get("ha-min-replicas")?.properties.minReplicas, 2);
        assert.strictEqual(settings("prod").get("ha-min-replicas")?.properties.minReplicas, 3);
    });
    it("fills schema defaults like the engine does", () => {
        const s = resolvePolicySettings(infos(), undefined);
        assert.deepStrictEqual(s.get("redis-ha-topology")?.properties, {
            minNodes: 3,
            minSentinels: 3,
            minReplicasToWrite: 1,
            exemptions: [],
        });
        assert.strictEqual(s.get("hyg-namespace")?.enforcementLevel, "advisory");
        const all = resolvePolicySettings(infos(), {
            all: "advisory",
            "rel-image-pinned": { enforcementLevel: "mandatory", requireDigest: true },
        });
        assert.strictEqual(all.get("sec-redis-auth")?.enforcementLevel, "advisory");
        assert.deepStrictEqual(all.get("rel-image-pinned"), {
            enforcementLevel: "mandatory",
            properties: { requireDigest: true, exemptions: [] },
        });
    });
    it("rejects unknown policies, unknown settings, wrong types and bad levels", () => {
        for (const [cfg, re] of [
            [{ "no-such-policy": "advisory" }, /unknown policy "no-such-policy"/],
            [{ "ha-min-replicas": { replicas: 2 } }, /has no setting "replicas"/],
            [{ "ha-min-replicas": { minReplicas: "two" } }, /is not of type "integer"/],
            [{ "ha-min-replicas": { minReplicas: 0 } }, /below the minimum 1/],
            [{ "ha-min-replicas": "strict" }, /is not an enforcement level/],
            [{ all: "loud" }, /"all" must be one of/],
        ] as const) {
            assert.throws(() => resolvePolicySettings(infos(), cfg as Record<string, unknown>), re);
        }
    });
});
