/**
 * `pulumi preview` with the policy pack, by the real Pulumi CLI (built by `npm run build:cluster`)
 * on a local file backend, for every shipped stack: what a pull request runs.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { CliResult, PulumiProject, policyPackArgs, pulumiProject } from "../../harness/cluster/pulumiCli";
import { SPEED_PATCHES_ENV } from "../../policy/lib/deserializeOnce";
import { CATALOGUE } from "../../policy/catalogue";
import { REPO_ROOT } from "../../cli/repoRoot";
import { shippedStacks } from "../../cli/program/stackConfig";

const stackFile = (stack: string): string => fs.readFileSync(path.join(REPO_ROOT, `Pulumi.${stack}.yaml`), "utf8");
const output = (r: CliResult): string => `${r.stdout}\n${r.stderr}`;

/**
 * The verdicts of a `preview --diff`: each violation, as it prints them inline
 * (`<pack> [level] [severity: <severity>]  <rule>  (<type>: <name>)<description>` and the message on
 * the next line).
 */
function verdicts(r: CliResult): string[] {
    const found = [...r.stdout.matchAll(/\[(mandatory|advisory)\]\s+\[severity: (\w+)\]\s+(\S+)\s+\(([^)]*)\).*\n(.*)/g)];
    return found
        .map(([, level, severity, rule, resource, message]) => `${level} ${severity} ${rule} ${resource}: ${message.trim()}`)
        .sort();
}

/** prod with one controller replica: what the pack exists to refuse. */
function weakenedProd(): string {
    const doc = YAML.parseDocument(stackFile("prod"));
    doc.setIn(["config", "a8-control-plane:controller", "replicas"], 1);
    return doc.toString();
}

describe("pulumi preview with the policy pack (the real Pulumi CLI)", function () {
    this.timeout(600_000);
    const stacks = shippedStacks(REPO_ROOT);
    let project: PulumiProject;
    const previews: Record<string, CliResult> = {};
    /** The same previews with the pack's speed patches off. */
    const unpatched: Record<string, CliResult> = {};

    const preview = (stack: string, configOf: string, env: Record<string, string> = {}): Promise<CliResult> =>
        project.run(["preview", "--stack", stack, ...policyPackArgs(configOf), "--diff"], { env });

    before(async () => {
        project = pulumiProject({ ...Object.fromEntries(stacks.map((s) => [s, stackFile(s)])), "prod-weakened": weakenedProd() });
        for (const stack of [...stacks, "prod-weakened"]) {
            const init = await project.run(["stack", "init", stack]);
            assert.equal(init.code, 0, output(init));
        }
        // One at a time: each preview starts the program, two providers and the pack on 2 cores.
        for (const stack of stacks) previews[stack] = await preview(stack, stack);
        previews["prod-weakened"] = await preview("prod-weakened", "prod");
        for (const stack of ["prod", "prod-weakened"]) {
            unpatched[stack] = await preview(stack, "prod", { [SPEED_PATCHES_ENV]: "off" });
        }
    });
    after(() => project?.remove());

    for (const stack of stacks) {
        it(`${stack}: previews cleanly under policy/config/${stack}.json`, () => {
            const r = previews[stack];
            assert.equal(r.code, 0, output(r));
            assert.doesNotMatch(output(r), /mandatory/i, output(r));
            // Every policy ran: none was downgraded for reading a value the preview cannot know.
            assert.doesNotMatch(output(r), /can't run policy/, output(r));
            // The plan holds the whole control plane, created under the ControlPlane component.
            assert.match(r.stdout, /\+ +amalgam8:index:ControlPlane/, r.stdout);
            assert.match(r.stdout, /\+ +kubernetes:apps\/v1:Deployment/, r.stdout);
        });
    }

    it("never writes the checkout's stack files (stack init adds an encryption salt to the copy only)", () => {
        for (const stack of stacks) {
            assert.equal(fs.readFileSync(path.join(REPO_ROOT, `Pulumi.${stack}.yaml`), "utf8"), stackFile(stack));
            assert.match(fs.readFileSync(path.join(project.dir, `Pulumi.${stack}.yaml`), "utf8"), /encryptionsalt/);
        }
    });

    it("the pack's speed patches change no verdict (the same previews with them off)", () => {
        for (const stack of ["prod", "prod-weakened"]) {
            assert.equal(unpatched[stack].code, previews[stack].code, output(unpatched[stack]));
            assert.deepEqual(verdicts(unpatched[stack]), verdicts(previews[stack]));
        }
        // The clean preview prints no violation; the weakened one names its own.
        assert.deepEqual(verdicts(previews.prod), []);
        // The engine prints the catalogue's severity beside the level (CATALOGUE -> enginePolicy).
        const minReplicas = CATALOGUE.find((e) => e.policy.name === "ha-min-replicas");
        assert.ok(
            verdicts(previews["prod-weakened"]).some((l) => l.startsWith(`mandatory ${minReplicas?.severity} ha-min-replicas `)),
            previews["prod-weakened"].stdout,
        );
    });

    it("refuses prod with controller.replicas: 1, naming the rule, the resource and the stack key", () => {
        const r = previews["prod-weakened"];
        assert.notEqual(r.code, 0, output(r));
        assert.match(output(r), /ha-min-replicas/, output(r));
        assert.match(output(r), /mandatory/, output(r));
        assert.match(output(r), /a8-control-plane:controller\.replicas/, output(r));
    });
});
