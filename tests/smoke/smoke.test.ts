/**
 * `npm run smoke`, run as a process against the real Amalgam8 controller and registry on loopback
 * (started from the staging stack's rendered containers, one Redis behind them): the URL form with
 * and without auth, failures, bad input, the --stack path through fake `pulumi` and `kubectl`
 * executables (the port-forwards are real TCP forwards), and the --watch drill.
 */
import { strict as assert } from "assert";
import { alive } from "../../harness/loopback/netns";
import * as fs from "fs";
import * as path from "path";
import { signToken, ADMIN_NAMESPACE } from "../../components/auth";
import { InputError } from "../../cli/errors";
import { REPO_ROOT } from "../../cli/repoRoot";
import { parseArgs } from "../../cli/smoke/args";
import { ToolError, readStackOutputs, targetsFromOutputs } from "../../cli/smoke/stack";
import { Amalgam8Instance } from "../../harness/loopback/amalgam8";
import { freePorts, makeTempDir, removeTempDir, runToEnd, sleep, waitFor } from "../../cli/process";
import { LoopbackControlPlane, startRenderedControlPlane } from "../../harness/loopback/stack";
import { renderStack, stackConfig } from "../support/program";

const CLI_TIMEOUT_MS = 60_000;

interface Run {
    code: number | null;
    stdout: string;
    stderr: string;
}

/** `npm run --silent smoke -- <args>`; `during` runs while it does (for faults). */
async function smoke(args: readonly string[], env: NodeJS.ProcessEnv = process.env, during?: () => Promise<void>): Promise<Run> {
    const stop = new AbortController();
    const run = runToEnd("smoke", "npm", ["run", "--silent", "smoke", "--", ...args], {
        cwd: REPO_ROOT,
        env,
        timeoutMs: CLI_TIMEOUT_MS,
        graceMs: 0,
        signal: stop.signal,
    });
    // A fault that fails stops the run and fails the test.
    const [r] = await Promise.all([
        run,
        during?.().catch(async (e: unknown) => {
            stop.abort();
            await run;
            throw e;
        }),
    ]);
    if (r.timedOut) throw new Error(`smoke ${args.join(" ")} did not finish within ${CLI_TIMEOUT_MS / 1000} s:\n${r.stderr}`);
    return { code: r.code, stdout: r.stdout, stderr: r.stderr };
}

interface ControlPlane {
    readonly controller: Amalgam8Instance;
    readonly registry: Amalgam8Instance;
    readonly token?: string;
}

/** One fake executable: a node script, so the fakes behave like the real tools on any machine. */
function writeTool(dir: string, name: string, source: string): void {
    fs.writeFileSync(path.join(dir, name), `#!${process.execPath}\n"use strict";\n${source}`, { mode: 0o755 });
}

/** `pulumi stack output --json --show-secrets --stack <s>`: canned outputs per stack from FAKE_PULUMI_OUTPUTS. */
const FAKE_PULUMI = `
const a = process.argv.slice(2);
const outputs = JSON.parse(require("fs").readFileSync(process.env.FAKE_PULUMI_OUTPUTS, "utf8"));
if (a.slice(0, 4).join(" ") !== "stack output --json --show-secrets" || a[4] !== "--stack" || a.length !== 6) {
    console.error("fake pulumi: unexpected arguments " + a.join(" "));
    process.exit(9);
}
const stack = a[5];
if (stack === "broken") { console.error("error: could not decrypt configuration value: incorrect passphrase"); process.exit(255); }
if (!(stack in outputs)) { console.error("error: no stack named '" + stack + "' found"); process.exit(255); }
process.stdout.write(JSON.stringify(outputs[stack], null, 4) + "\\n");
`;

/**
 * \`kubectl port-forward --namespace <ns> service/<svc> :<port> --address 127.0.0.1\`: listens on a
 * free 127.0.0.1 port, forwards every connection to the loopback service FAKE_KUBECTL_TARGETS maps
 * "<ns>/<svc>:<port>" to, prints kubectl's "Forwarding from" line, and logs its pid and arguments.
 */
const FAKE_KUBECTL = `
const net = require("net");
const fs = require("fs");
const a = process.argv.slice(2);
fs.appendFileSync(process.env.FAKE_KUBECTL_LOG, JSON.stringify({ pid: process.pid, args: a }) + "\\n");
const m = a.join(" ").match(/^port-forward --namespace (\\S+) service\\/(\\S+) :(\\d+) --address 127\\.0\\.0\\.1$/);
if (!m) { console.error("fake kubectl: unexpected arguments " + a.join(" ")); process.exit(9); }
const target = JSON.parse(process.env.FAKE_KUBECTL_TARGETS)[m[1] + "/" + m[2] + ":" + m[3]];
if (!target) { console.error('Error from server (NotFound): services "' + m[2] + '" not found'); process.exit(1); }
const server = net.createServer((client) => {
    const upstream = net.connect(target);
    client.on("error", () => upstream.destroy());
    upstream.on("error", () => client.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
});
server.listen(0, "127.0.0.1", () => console.log("Forwarding from 127.0.0.1:" + server.address().port + " -> 8080"));
process.on("SIGTERM", () => process.exit(0));
`;

describe("npm run smoke against the real services on loopback", function () {
    this.timeout(120_000);
    let dir: string;
    let open: ControlPlane;
    let jwt: ControlPlane;
    const planes: LoopbackControlPlane[] = [];

    before(async () => {
        dir = makeTempDir("smoke-test");
        // The staging shape with a standalone Redis (one process is enough here), once without and
        // once with JWT auth; one replica of each service. One render at a time: the SDK's mock
        // runtime is global.
        const redis = { mode: "standalone" };
        const stacks = [];
        for (const overrides of [{ redis }, { redis, auth: "jwt" }]) {
            const rendered = await renderStack(stackConfig("staging", overrides));
            stacks.push({ objects: rendered.objects, outputs: rendered.run.outputs });
        }
        const [plain, withAuth] = await Promise.all(
            stacks.map(async (stack) => {
                const plane = await startRenderedControlPlane(stack, { maxReplicas: 1 });
                planes.push(plane);
                const controller = plane.controllers[0];
                const registry = plane.registries[0];
                // Polled faster than the readiness probe's period: the tests only need the APIs up. Each
                // request has its own deadline, so one that hangs cannot outlast the wait.
                await Promise.all([
                    waitFor(
                        "the controller to answer /health",
                        20_000,
                        async () => (await fetch(`${controller.url}/health`, { signal: AbortSignal.timeout(2_000) })).status === 200,
                    ),
                    waitFor(
                        "the registry to answer /uptime",
                        20_000,
                        async () => (await fetch(`${registry.url}/uptime`, { signal: AbortSignal.timeout(2_000) })).status === 200,
                    ),
                ]);
                return { controller, registry, token: plane.target.token };
            }),
        );
        open = plain;
        jwt = withAuth;
        assert.equal(open.token, undefined);
        assert.ok(jwt.token, "the jwt stack exports adminToken");
    });

    after(async () => {
        await Promise.allSettled(planes.map((p) => p.stop()));
        if (dir) removeTempDir(dir);
    });

    const urls = (cp: ControlPlane): string[] => ["--controller", cp.controller.url, "--registry", cp.registry.url];

    describe("--controller/--registry", () => {
        it("passes every step without auth, prints the table and leaves nothing behind", async () => {
            const r = await smoke([...urls(open), "--run-id", "t-open"]);
            assert.equal(r.code, 0, r.stdout + r.stderr);
            for (const step of [
                "registry: register instances",
                "registry: heartbeat",
                "registry: list services and instances",
                "controller: create a routing rule",
                "controller: read the rule",
                "controller: delete the rule",
                "cleanup: deregister instances, delete the rule",
            ]) {
                assert.match(r.stdout, new RegExp(`^${step}\\s+ok\\s`, "m"), step);
            }
            assert.match(r.stdout, /^auth\s+none$/m);
            assert.match(r.stdout, /^PASS: \d+ steps$/m);
            const services = (await (await fetch(`${open.registry.url}/api/v1/services`)).json()) as { services: string[] };
            assert.ok(!services.services.some((s) => s.includes("t-open")), `left behind: ${services.services.join(", ")}`);
            const rules = (await (await fetch(`${open.controller.url}/v1/rules?destination=journey-t-open`)).json()) as {
                rules: unknown[];
            };
            assert.deepEqual(rules.rules, []);
        });

        it("with --token: the token is accepted, a forged one refused, and --json is one document", async () => {
            const r = await smoke([...urls(jwt), "--token", jwt.token!, "--json"]);
            assert.equal(r.code, 0, r.stdout + r.stderr);
            const doc = JSON.parse(r.stdout) as {
                ok: boolean;
                targets: { authenticated: boolean };
                steps: { name: string; ok: boolean }[];
            };
            assert.equal(doc.ok, true);
            assert.equal(doc.targets.authenticated, true);
            assert.ok(
                doc.steps.some((s) => /^auth: .*refused/.test(s.name) && s.ok),
                JSON.stringify(doc.steps),
            );
            assert.ok(!r.stdout.includes(jwt.token!), "the token is never printed");
        });

        it("exits 1 and names the failing step: a token of another secret, a stopped registry", async () => {
            const wrong = signToken("not-the-secret-of-this-stack", ADMIN_NAMESPACE);
            // A registry that is gone: its port no longer answers.
            const [closedPort] = await freePorts(1);
            const [wrongToken, stopped] = await Promise.all([
                smoke([...urls(jwt), "--token", wrong]),
                smoke(["--controller", open.controller.url, "--registry", `http://127.0.0.1:${closedPort}`]),
            ]);
            assert.equal(wrongToken.code, 1, wrongToken.stdout + wrongToken.stderr);
            assert.match(wrongToken.stdout, /^registry: register instances\s+FAIL\s.*HTTP 401/m);
            assert.match(wrongToken.stdout, /^FAIL: registry: register instances$/m);
            assert.equal(stopped.code, 1, stopped.stdout + stopped.stderr);
            assert.match(stopped.stdout, /^registry: register instances\s+FAIL\s.*ECONNREFUSED/m);
        });
    });

    describe("--stack with pulumi and kubectl", () => {
        let tools: string;
        let env: NodeJS.ProcessEnv;
        const kubectlLog = (): Array<{ pid: number; args: string[] }> =>
            fs.existsSync(env.FAKE_KUBECTL_LOG!)
                ? fs
                      .readFileSync(env.FAKE_KUBECTL_LOG!, "utf8")
                      .trim()
                      .split("\n")
                      .map((l) => JSON.parse(l))
                : [];

        before(() => {
            tools = path.join(dir, "bin");
            fs.mkdirSync(tools);
            writeTool(tools, "pulumi", FAKE_PULUMI);
            writeTool(tools, "kubectl", FAKE_KUBECTL);
            const ns = "amalgam8-e2e";
            const inCluster = {
                controllerUrl: `http://controller.${ns}.svc.cluster.local:6080`,
                registryUrl: `http://registry.${ns}.svc.cluster.local:5080`,
                namespace: ns,
            };
            const outputs = {
                // ClusterIP: no endpoints, both services through port-forwards; the admin token from the outputs.
                e2e: {
                    ...inCluster,
                    adminToken: jwt.token,
                    sidecarEnv: { A8_CONTROLLER_URL: inCluster.controllerUrl, A8_REGISTRY_URL: inCluster.registryUrl },
                },
                // A LoadBalancer stack: its endpoints are used as they are, no port-forward.
                lb: { ...inCluster, controllerEndpoint: open.controller.url, registryEndpoint: open.registry.url },
                "no-outputs": {},
                // A Service that does not exist in the cluster.
                "wrong-service": { ...inCluster, controllerUrl: `http://nope.${ns}.svc.cluster.local:6080` },
            };
            fs.writeFileSync(path.join(dir, "outputs.json"), JSON.stringify(outputs));
            env = {
                ...process.env,
                PATH: `${tools}${path.delimiter}${process.env.PATH ?? ""}`,
                FAKE_PULUMI_OUTPUTS: path.join(dir, "outputs.json"),
                FAKE_KUBECTL_LOG: path.join(dir, "kubectl.log"),
                FAKE_KUBECTL_TARGETS: JSON.stringify({
                    [`${ns}/controller:6080`]: { host: "127.0.0.1", port: jwt.controller.port },
                    [`${ns}/registry:5080`]: { host: "127.0.0.1", port: jwt.registry.port },
                }),
            };
        });

        it("reads the outputs, port-forwards both ClusterIP Services with the admin token, and stops the forwards", async () => {
            const before = kubectlLog().length;
            const r = await smoke(["--stack", "e2e"], env);
            assert.equal(r.code, 0, r.stdout + r.stderr);
            assert.match(r.stdout, /^controller http:\/\/127\.0\.0\.1:\d+ \(kubectl port-forward service\/controller -n amalgam8-e2e\)$/m);
            assert.match(r.stdout, /^registry {3}http:\/\/127\.0\.0\.1:\d+ \(kubectl port-forward service\/registry -n amalgam8-e2e\)$/m);
            assert.match(r.stdout, /^auth\s+bearer token$/m);
            assert.match(r.stdout, /^auth: .*refused\s+ok\s/m);
            const calls = kubectlLog().slice(before);
            assert.deepEqual(calls.map((c) => c.args.join(" ")).sort(), [
                "port-forward --namespace amalgam8-e2e service/controller :6080 --address 127.0.0.1",
                "port-forward --namespace amalgam8-e2e service/registry :5080 --address 127.0.0.1",
            ]);
            for (const c of calls) assert.ok(!alive(c.pid), `kubectl port-forward (pid ${c.pid}) still runs after the smoke test`);
        });

        it("uses a LoadBalancer's endpoints directly", async () => {
            const before = kubectlLog().length;
            const r = await smoke(["--stack", "lb"], env);
            assert.equal(r.code, 0, r.stdout + r.stderr);
            assert.match(r.stdout, new RegExp(`^controller ${open.controller.url}$`, "m"));
            assert.equal(kubectlLog().length, before, "no port-forward");
        });

        it("bad stacks exit 2 and failing tools exit 3, each with one line", async () => {
            const [unknown, broken, missingService] = await Promise.all([
                smoke(["--stack", "qa"], env),
                smoke(["--stack", "broken"], env),
                smoke(["--stack", "wrong-service"], env),
            ]);
            const expect = (r: Run, code: number, message: RegExp): void => {
                assert.equal(r.code, code, r.stdout + r.stderr);
                assert.match(r.stderr, message);
                assert.match(r.stderr, /^smoke: [^\n]+\n$/);
            };
            expect(unknown, 2, /stack "qa" not found in the current Pulumi backend/);
            expect(broken, 3, /pulumi stack output --stack broken failed: error: could not decrypt/);
            expect(missingService, 3, /kubectl port-forward service\/nope -n amalgam8-e2e exited: Error from server \(NotFound\)/);
            assert.throws(() => targetsFromOutputs({}), /the stack has no output controllerUrl: run pulumi up for it first/);
            const path0 = process.env.PATH;
            process.env.PATH = dir;
            try {
                await assert.rejects(
                    readStackOutputs("e2e", REPO_ROOT),
                    (e: Error) => e instanceof ToolError && /pulumi not found on PATH/.test(e.message),
                );
            } finally {
                process.env.PATH = path0;
            }
        });

        it("--watch restarts a port-forward that dies and still verifies every acknowledged write", async () => {
            const before = kubectlLog().length;
            const r = await smoke(["--stack", "e2e", "--watch", "3", "--json"], env, async () => {
                // Like a deleted pod: the forward to the controller ends in the middle of the drill.
                const forward = await waitFor("the controller port-forward", 20_000, async () =>
                    kubectlLog()
                        .slice(before)
                        .find((c) => c.args.includes("service/controller")),
                );
                await sleep(1000);
                process.kill(forward.pid, "SIGKILL");
            });
            assert.equal(r.code, 0, r.stdout + r.stderr);
            const doc = JSON.parse(r.stdout) as {
                ok: boolean;
                forwardsRestarted: number;
                rules: { acknowledgedLost: number; verified: boolean; writesAcknowledged: number };
            };
            assert.ok(doc.forwardsRestarted >= 1, `forwards restarted: ${doc.forwardsRestarted}`);
            assert.equal(doc.rules.verified, true);
            assert.equal(doc.rules.acknowledgedLost, 0);
            assert.ok(doc.rules.writesAcknowledged >= 2);
            for (const c of kubectlLog().slice(before)) assert.ok(!alive(c.pid), `kubectl (pid ${c.pid}) still runs`);
        });
    });

    describe("--watch (fault drill)", () => {
        it("counts rounds and acknowledged writes, and fails when acknowledged rules disappear", async () => {
            const drillRules = (runId: string) => `${open.controller.url}/v1/rules?tag=smoke-drill-${runId}`;
            // One drill at a time: the controller answers 500 to a write that loses the race for the
            // tenant's rules (WATCH/MULTI/EXEC without a retry), which two drills would provoke.
            const clean = await smoke([...urls(open), "--watch", "3", "--run-id", "d-clean", "--json"]);
            const lossy = await smoke([...urls(open), "--watch", "3", "--run-id", "d-lossy"], process.env, async () => {
                // What a failover to an empty replica would do: acknowledged rules vanish.
                await waitFor("the drill's first acknowledged rule", 20_000, async () => {
                    const body = (await (await fetch(drillRules("d-lossy"))).json()) as { rules: unknown[] };
                    return body.rules.length > 0;
                });
                // Retried for the same race, now with the drill's own writes.
                await waitFor(
                    "the drill's rules to be deleted behind its back",
                    10_000,
                    async () => (await fetch(drillRules("d-lossy"), { method: "DELETE" })).status === 200,
                );
            });
            assert.equal(clean.code, 0, clean.stdout + clean.stderr);
            const doc = JSON.parse(clean.stdout) as {
                ok: boolean;
                rounds: number;
                rules: Record<string, number | boolean>;
                final: { ok: boolean };
            };
            assert.equal(doc.ok, true);
            assert.ok(doc.rounds >= 2, `rounds: ${doc.rounds}`);
            assert.equal(doc.rules.acknowledgedLost, 0);
            assert.equal(doc.rules.readsWrong, 0);
            assert.equal(doc.final.ok, true);

            assert.equal(lossy.code, 1, lossy.stdout + lossy.stderr);
            assert.match(lossy.stdout, /^lost\s+[1-9]\d* acknowledged write\(s\) lost$/m);
            assert.match(lossy.stdout, /^rule reads .* [1-9]\d* wrong/m);
            assert.match(lossy.stdout, /^FAIL: [1-9]\d* acknowledged write\(s\) lost$/m);
            // The drill removes its rules at the end either way.
            for (const runId of ["d-clean", "d-lossy"]) {
                const body = (await (await fetch(drillRules(runId))).json()) as { rules: unknown[] };
                assert.deepEqual(body.rules, [], `rules of ${runId} left behind`);
            }
        });
    });
});

describe("npm run smoke: arguments and stack outputs", () => {
    const cases: Array<[string, string[], RegExp]> = [
        ["no target", [], /give --stack <name>, or --controller <url> and --registry <url>/],
        [
            "a URL that is not one",
            ["--controller", "controller:6080", "--registry", "http://127.0.0.1:1"],
            /--controller "controller:6080" must start with http:\/\/ or https:\/\//,
        ],
        ["a controller without a registry", ["--controller", "http://127.0.0.1:1"], /--controller needs --registry <url> as well/],
        [
            "both forms",
            ["--stack", "e2e", "--controller", "http://127.0.0.1:1", "--registry", "http://127.0.0.1:2"],
            /either --stack or --controller\/--registry, not both/,
        ],
        ["an unknown flag", ["--stack", "e2e", "--colour"], /unknown flag --colour/],
        ["a flag without its value", ["--stack", "--json"], /--stack needs a value/],
        ["a watch of zero seconds", ["--stack", "e2e", "--watch", "0"], /--watch "0" must be a whole number of seconds from 1 to 86400/],
        ["--json with --markdown", ["--stack", "e2e", "--json", "--markdown"], /give only one of --json or --markdown/],
    ];
    for (const [what, args, message] of cases) {
        it(`refuses ${what} with a message naming it`, () => {
            assert.throws(
                () => parseArgs(args),
                (e: Error) => e instanceof InputError && message.test(e.message),
            );
        });
    }

    it("the CLI exits 2 with that message on one line and prints nothing on stdout", async () => {
        const r = await smoke(["--stack", "e2e", "--watch", "0"]);
        assert.equal(r.code, 2, r.stderr);
        assert.equal(r.stdout, "");
        assert.match(r.stderr, /^smoke: --watch "0" must be a whole number of seconds from 1 to 86400\n$/);
    });

    it("reaches ClusterIP and NodePort Services through port-forward and a LoadBalancer directly", () => {
        const ns = "amalgam8-dev";
        const base = {
            controllerUrl: `http://controller.${ns}.svc.cluster.local:6080`,
            registryUrl: `http://registry.${ns}.svc.cluster.local:5080`,
        };
        const nodePort = targetsFromOutputs({
            ...base,
            controllerEndpoint: "http://<node-address>:31200",
            registryEndpoint: "http://<node-address>:31300",
        });
        assert.deepEqual(nodePort.controller, { kind: "port-forward", namespace: ns, service: "controller", port: 6080 });
        assert.deepEqual(nodePort.registry, { kind: "port-forward", namespace: ns, service: "registry", port: 5080 });
        assert.equal(nodePort.token, undefined);
        const lb = targetsFromOutputs({
            ...base,
            controllerEndpoint: "http://203.0.113.7:6080/",
            registryEndpoint: "http://203.0.113.8:5080",
            adminToken: "a.b.c",
        });
        assert.deepEqual(lb.controller, { kind: "direct", url: "http://203.0.113.7:6080" });
        assert.equal(lb.token, "a.b.c");
        assert.throws(
            () => targetsFromOutputs({ ...base, registryUrl: "http://10.0.0.1:5080" }),
            /stack output registryUrl "http:\/\/10\.0\.0\.1:5080" is not an in-cluster Service URL/,
        );
    });
});
