import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { DEFAULTS, PROJECT } from "../../components/config";
import { InputError } from "../../tools/errors";
import { REPO_ROOT } from "../../tools/program/runProgram";
import { SECRET_PLACEHOLDER, listStacks, loadStackConfig } from "../../tools/program/stackConfig";

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

    it("finds the dev, staging and prod stacks", () => {
        assert.deepEqual(listStacks(REPO_ROOT), ["dev", "prod", "staging"]);
    });

    describe("loading a stack like the CLI", () => {
        let dir: string;
        beforeEach(() => {
            dir = fs.mkdtempSync(path.join(os.tmpdir(), "a8-stack-"));
            fs.writeFileSync(path.join(dir, "Pulumi.yaml"), "name: demo\nruntime: nodejs\nconfig:\n  namespace:\n    type: string\n    default: base\n  auth: none\n");
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
            assert.throws(() => loadStackConfig(dir, "prod"), (e: Error) => e instanceof InputError && /unknown stack "prod".*stacks: qa/.test(e.message));
        });

        it("names the file with invalid YAML", () => {
            fs.writeFileSync(path.join(dir, "Pulumi.qa.yaml"), "config:\n  demo:namespace: [unclosed\n");
            assert.throws(() => loadStackConfig(dir, "qa"), (e: Error) => e instanceof InputError && /^Pulumi\.qa\.yaml: invalid YAML/.test(e.message));
        });
    });
});
