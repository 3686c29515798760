/**
 * Bad input through the real Pulumi CLI: `pulumi up` of a stack with a key outside its `config:`
 * block, with a bad secret, or against an API server that does not answer. Each gets one clear
 * message naming what is wrong, no stack trace, no secret in clear, and nothing created.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { CliResult, PulumiProject, pulumiProject } from "../../harness/cluster/pulumiCli";
import { freePorts } from "../../cli/process";
import { REPO_ROOT } from "../../cli/repoRoot";

const output = (r: CliResult): string => `${r.stdout}\n${r.stderr}`;
const dev = fs.readFileSync(path.join(REPO_ROOT, "Pulumi.dev.yaml"), "utf8");
/** A stack trace of the program or of a plugin. */
const STACK_TRACE = /^\s+at \S+ \(|^goroutine \d+ \[|^panic: /m;
const SHORT_PASSWORD = "abc123";

describe("bad input through the real Pulumi CLI: one clear message, nothing created", function () {
    this.timeout(300_000);
    let project: PulumiProject;
    let unreachableKubeconfig: string;

    const up = (stack: string, env: Record<string, string> = {}): Promise<CliResult> =>
        project.run(["up", "--yes", "--skip-preview", "--stack", stack], { env, timeoutMs: 240_000 });
    /** The Kubernetes objects and generated secrets the stack's state holds. */
    const created = async (stack: string): Promise<string[]> => {
        const r = await project.run(["stack", "export", "--stack", stack]);
        assert.equal(r.code, 0, output(r));
        const resources = (JSON.parse(r.stdout) as { deployment: { resources?: { urn: string; type: string }[] } }).deployment.resources;
        return (
            (resources ?? [])
                // Component resources are only groupings in the state; what counts is anything real.
                .filter((x) => x.type.startsWith("kubernetes:") || x.type.startsWith("random:"))
                .map((x) => x.urn)
        );
    };

    before(async () => {
        project = pulumiProject({
            "outside-config": dev,
            "short-secret": dev,
            "plain-secret": dev,
            unreachable: dev,
        });
        for (const stack of ["outside-config", "short-secret", "plain-secret", "unreachable"]) {
            const init = await project.run(["stack", "init", stack]);
            assert.equal(init.code, 0, output(init));
        }
        // A setting indented wrong, outside `config:`, where the CLI would silently ignore it. Added
        // after `stack init`, as a user edits the file: the CLI drops unknown keys when it writes one.
        fs.appendFileSync(path.join(project.dir, "Pulumi.outside-config.yaml"), "a8-control-plane:controller:\n  replicas: 2\n");
        let r = await project.run(["config", "set", "--secret", "--stack", "short-secret", "redisPassword", SHORT_PASSWORD]);
        assert.equal(r.code, 0, output(r));
        r = await project.run([
            "config",
            "set",
            "--plaintext",
            "--stack",
            "plain-secret",
            "redisPassword",
            "plain-text-password-1234567890",
        ]);
        assert.equal(r.code, 0, output(r));
        const [closed] = await freePorts(1);
        unreachableKubeconfig = path.join(project.dir, "..", "unreachable.kubeconfig");
        fs.writeFileSync(
            unreachableKubeconfig,
            [
                "apiVersion: v1",
                "kind: Config",
                "clusters: [{ name: gone, cluster: { server: 'https://127.0.0.1:" + closed + "', insecure-skip-tls-verify: true } }]",
                "users: [{ name: gone, user: { token: not-a-secret } }]",
                "contexts: [{ name: gone, context: { cluster: gone, user: gone } }]",
                "current-context: gone",
                "",
            ].join("\n"),
        );
    });
    after(() => project?.remove());

    it("a key outside config: is refused, naming the file and the key", async () => {
        const r = await up("outside-config");
        assert.notEqual(r.code, 0, output(r));
        assert.match(output(r), /invalid stack configuration/, output(r));
        assert.match(output(r), /Pulumi\.outside-config\.yaml: .*a8-control-plane:controller/, output(r));
        assert.doesNotMatch(output(r), STACK_TRACE, output(r));
        assert.deepEqual(await created("outside-config"), []);
    });

    it("a Redis password too short is refused, naming the key, never showing the value", async () => {
        const r = await up("short-secret");
        assert.notEqual(r.code, 0, output(r));
        assert.match(output(r), /a8-control-plane:redisPassword/, output(r));
        assert.ok(!output(r).includes(SHORT_PASSWORD), `the secret is shown:\n${output(r)}`);
        assert.doesNotMatch(output(r), STACK_TRACE, output(r));
        assert.deepEqual(await created("short-secret"), []);
    });

    it("a secret set in plain text is refused, naming the key and how to set it", async () => {
        const r = await up("plain-secret");
        assert.notEqual(r.code, 0, output(r));
        assert.match(output(r), /a8-control-plane:redisPassword/, output(r));
        assert.match(output(r), /--secret/, output(r));
        assert.doesNotMatch(output(r), STACK_TRACE, output(r));
        assert.deepEqual(await created("plain-secret"), []);
    });

    it("an API server that does not answer fails the up with the provider's message, nothing created", async () => {
        const r = await up("unreachable", { KUBECONFIG: unreachableKubeconfig });
        assert.notEqual(r.code, 0, output(r));
        assert.match(output(r), /unreachable|connection refused/i, output(r));
        assert.doesNotMatch(output(r), STACK_TRACE, output(r));
        assert.deepEqual(await created("unreachable"), []);
    });
});
