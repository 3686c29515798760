import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { DEFAULTS, PROJECT, parseSettings } from "../../components/config";
import { projectConfig } from "../../components/settings/docs";
import { InputError } from "../../cli/errors";
import { REPO_ROOT } from "../../cli/repoRoot";
import { SECRET_PLACEHOLDER, listStacks, loadStackConfig } from "../../cli/program/stackConfig";
import { runCheck } from "../check/helpers";

describe("stack files", () => {
    it("Pulumi.yaml declares the same defaults as the program", () => {
        const project = YAML.parse(fs.readFileSync(path.join(REPO_ROOT, "Pulumi.yaml"), "utf8"));
        assert.equal(project.name, PROJECT);
        const declared = Object.entries(project.config as Record<string, { default: unknown }>);
        assert.ok(declared.length >= 5);
        for (const [key, decl] of declared) {
            assert.deepEqual(decl.default, (DEFAULTS as unknown as Record<string, unknown>)[key], `default of ${key}`);
        }
    });

    it("Pulumi.yaml's config: block is the schema's: type, default and description of every top-level setting", () => {
        const project = YAML.parse(fs.readFileSync(path.join(REPO_ROOT, "Pulumi.yaml"), "utf8"));
        assert.deepEqual(project.config, projectConfig());
        assert.deepEqual(Object.keys(projectConfig()), [
            "namespace",
            "createNamespace",
            "storage",
            "serviceType",
            "auth",
            "spreadAcrossZones",
        ]);
        assert.deepEqual(projectConfig().serviceType, {
            type: "string",
            default: "ClusterIP",
            description: "ClusterIP | NodePort | LoadBalancer: Type of the controller and registry Services",
        });
    });

    it("finds every Pulumi.<stack>.yaml of the project, the shipped dev, staging and prod among them", () => {
        const stacks = listStacks(REPO_ROOT);
        const files = fs.readdirSync(REPO_ROOT).filter((f) => /^Pulumi\.[^.]+\.ya?ml$/.test(f));
        assert.equal(stacks.length, files.length);
        for (const s of ["dev", "staging", "prod"]) assert.ok(stacks.includes(s), s);
    });

    it("every stack file of the repository loads and passes validation", () => {
        for (const stack of listStacks(REPO_ROOT)) {
            const c = loadStackConfig(REPO_ROOT, stack);
            assert.doesNotThrow(() => parseSettings({ values: c.config, secretKeys: c.secretKeys }), stack);
        }
    });

    describe("loading a stack like the CLI", () => {
        let dir: string;
        beforeEach(() => {
            dir = fs.mkdtempSync(path.join(os.tmpdir(), "a8-stack-"));
            fs.writeFileSync(
                path.join(dir, "Pulumi.yaml"),
                "name: demo\nruntime: nodejs\nconfig:\n  namespace:\n    type: string\n    default: base\n  auth: none\n",
            );
        });
        afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

        it("overrides project defaults, JSON-encodes objects and keeps other namespaces", () => {
            fs.writeFileSync(
                path.join(dir, "Pulumi.qa.yaml"),
                "config:\n  demo:namespace: qa\n  demo:controller:\n    replicas: 3\n  kubernetes:context: kind-qa\n",
            );
            const c = loadStackConfig(dir, "qa");
            assert.equal(c.project, "demo");
            assert.equal(c.config["demo:namespace"], "qa");
            assert.equal(c.config["demo:auth"], "none");
            assert.deepEqual(JSON.parse(c.config["demo:controller"]), { replicas: 3 });
            assert.equal(c.config["kubernetes:context"], "kind-qa");
            assert.deepEqual(c.secretKeys, []);
        });

        it("replaces encrypted values by a placeholder that stays secret", () => {
            fs.writeFileSync(path.join(dir, "Pulumi.qa.yaml"), "config:\n  demo:jwtSecret:\n    secure: v1:abc:def\n");
            const c = loadStackConfig(dir, "qa");
            assert.equal(c.config["demo:jwtSecret"], SECRET_PLACEHOLDER);
            assert.deepEqual(c.secretKeys, ["demo:jwtSecret"]);
        });

        it("names the unknown stack and the known ones", () => {
            fs.writeFileSync(path.join(dir, "Pulumi.qa.yaml"), "config: {}\n");
            assert.throws(
                () => loadStackConfig(dir, "prod"),
                (e: Error) => e instanceof InputError && /unknown stack "prod".*stacks: qa/.test(e.message),
            );
        });

        it("names the file and every key the CLI would ignore or nothing reads", () => {
            fs.writeFileSync(
                path.join(dir, "Pulumi.qa.yaml"),
                "demo:namespace: qa\nconfig:\n  dmeo:auth: jwt\n  kubernetes:context: kind-qa\n",
            );
            assert.throws(
                () => loadStackConfig(dir, "qa"),
                (e: Error) =>
                    e instanceof InputError &&
                    e.message ===
                        "Pulumi.qa.yaml: demo:namespace: is not under config: (the Pulumi CLI would ignore it; indent it under config:)\n" +
                            "Pulumi.qa.yaml: dmeo:auth: is in namespace dmeo, which nothing here reads; " +
                            "keys are demo:<key>, kubernetes:<key>, pulumi:<key> (did you mean demo:auth?)",
            );
        });

        it("npm run check --stack refuses such a stack file: exit 2, one line naming the keys", async function () {
            this.timeout(120_000);
            fs.copyFileSync(path.join(REPO_ROOT, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
            fs.writeFileSync(path.join(dir, "Pulumi.qa.yaml"), "config:\n  a8-controlplane:namespace: amalgam8-qa\n");
            const r = await runCheck(["--stack", "qa", "--project-dir", dir]);
            assert.equal(r.code, 2, r.stderr);
            assert.equal(r.stdout, "");
            assert.equal(
                r.stderr,
                "check: Pulumi.qa.yaml: a8-controlplane:namespace: is in namespace a8-controlplane, which nothing here reads; " +
                    "keys are a8-control-plane:<key>, kubernetes:<key>, pulumi:<key> (did you mean a8-control-plane:namespace?)\n",
            );
        });

        it("names a namespaced key of Pulumi.yaml that nothing reads", () => {
            fs.writeFileSync(path.join(dir, "Pulumi.yaml"), "name: demo\nruntime: nodejs\nconfig:\n  aws:region: eu-west-1\n");
            fs.writeFileSync(path.join(dir, "Pulumi.qa.yaml"), "config: {}\n");
            assert.throws(
                () => loadStackConfig(dir, "qa"),
                (e: Error) => e instanceof InputError && /^Pulumi\.yaml: aws:region: is in namespace aws/.test(e.message),
            );
        });

        it("names the file with invalid YAML", () => {
            fs.writeFileSync(path.join(dir, "Pulumi.qa.yaml"), "config:\n  demo:namespace: [unclosed\n");
            assert.throws(
                () => loadStackConfig(dir, "qa"),
                (e: Error) => e instanceof InputError && /^Pulumi\.qa\.yaml: invalid YAML/.test(e.message),
            );
        });
    });
});
