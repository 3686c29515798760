/**
 * The real Amalgam8 controller and registry (built from the v1.1.0 source by
 * tools/amalgam8/build.sh) run exactly as each shipped stack renders them, confined by their
 * rendered security context, against the Redis the stack renders. The matrix covers each stack,
 * each Redis mode and both auth modes once, without multiplying them.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import { LoopbackControlPlane, RenderedStack, startRenderedControlPlane } from "../../tools/loopback/stack";
import { runSidecarJourney } from "../../tools/smoke/journey";
import { sleep } from "../../tools/loopback/process";
import { missingAfterRestart, removeWritten, renderedStack, restartServices, writeRuleAndInstance } from "./support";

interface Case {
    readonly title: string;
    readonly stack: string;
    readonly overrides?: Record<string, unknown>;
    readonly secretOverrides?: string[];
}

const CASES: readonly Case[] = [
    { title: "dev as shipped", stack: "dev" },
    { title: "staging as shipped", stack: "staging" },
    { title: "prod as shipped", stack: "prod" },
    {
        title: "dev with an external Redis and JWT auth",
        stack: "dev",
        // A managed endpoint's name, never contacted: the loopback redis-server stands for it.
        overrides: {
            redis: { mode: "external", address: "managed-redis.example.com:6380" },
            auth: "jwt",
            redisPassword: "ExternalRedisPassword0123",
        },
        secretOverrides: ["redisPassword"],
    },
];

for (const c of CASES) {
    describe(`system: ${c.title} (real controller and registry on loopback)`, function () {
        let plane: LoopbackControlPlane | undefined;
        let stack: RenderedStack;

        before(async function () {
            this.timeout(90000);
            stack = await renderedStack(c.stack, c.overrides, c.secretOverrides);
            plane = await startRenderedControlPlane(stack);
            // The stand-ins, listed once per stack so that a reader of the test output sees them.
            console.log(
                `      substitutions for ${c.title}:\n${plane
                    .substitutions()
                    .map((s) => `        - ${s}`)
                    .join("\n")}`,
            );
        });

        after(async function () {
            this.timeout(30000);
            await plane?.stop();
        });

        it(
            "each replica becomes Ready by its rendered readiness probe, " + "within its liveness budget, and passes its liveness probe",
            async function () {
                this.timeout(90000);
                const p = plane as LoopbackControlPlane;
                const all = [...p.controllers, ...p.registries];
                assert.ok(p.controllers.length >= 1 && p.registries.length >= 1);
                // waitReady polls at the probe's period and gives up when the liveness budget is spent.
                await p.waitReady();
                for (const s of all) {
                    const live = await s.probe("liveness");
                    assert.ok(live.ok, `${s.service} ${s.url}: liveness probe failed: ${live.detail}\n${s.logs(10)}`);
                }
            },
        );

        it("runs each replica under its rendered security context (uid, gid, capabilities, no_new_privs, read-only root)", function () {
            const p = plane as LoopbackControlPlane;
            for (const s of [...p.controllers, ...p.registries]) {
                const deployment = stack.objects.find(
                    (o) =>
                        o.kind === "Deployment" &&
                        o.spec.template.spec.containers.some((x: { image: string }) => x.image.includes(`a8-${s.service}:`)),
                );
                const pod = deployment?.spec.template.spec;
                const container = pod.containers.find((x: { image: string }) => x.image.includes(`a8-${s.service}:`));
                const status = Object.fromEntries(
                    fs
                        .readFileSync(`/proc/${s.pid}/status`, "utf8")
                        .split("\n")
                        .map((l) => [l.split(":")[0], l.slice(l.indexOf(":") + 1).trim()]),
                );
                const uid = container.securityContext?.runAsUser ?? pod.securityContext?.runAsUser;
                const gid = container.securityContext?.runAsGroup ?? pod.securityContext?.runAsGroup;
                assert.equal(status.Uid.split(/\s+/)[0], String(uid), `${s.service} uid`);
                assert.equal(status.Gid.split(/\s+/)[0], String(gid), `${s.service} gid`);
                if (container.securityContext?.capabilities?.drop?.includes("ALL"))
                    assert.equal(BigInt(`0x${status.CapBnd}`), 0n, `${s.service} capabilities`);
                if (container.securityContext?.allowPrivilegeEscalation === false)
                    assert.equal(status.NoNewPrivs, "1", `${s.service} no_new_privs`);
                const root = fs
                    .readFileSync(`/proc/${s.pid}/mountinfo`, "utf8")
                    .split("\n")
                    .find((l) => l.split(" ")[4] === "/");
                assert.ok(root, `${s.service}: no root mount`);
                assert.equal(
                    root.split(" ")[5].split(",").includes("ro"),
                    container.securityContext?.readOnlyRootFilesystem === true,
                    `${s.service} root read-only: ${root}`,
                );
            }
        });

        it("serves the sidecar journey through the exported URLs (and the other replica sees the writes)", async function () {
            this.timeout(60000);
            const p = plane as LoopbackControlPlane;
            const report = await runSidecarJourney(p.target, { timeoutMs: 30000 });
            const text = report.steps.map((s) => `${s.ok ? "ok  " : "FAIL"} ${s.name}: ${s.detail}`).join("\n");
            assert.ok(
                report.ok,
                `journey failed:\n${text}\n--- controller log\n${p.controllers[0].logs(8)}\n--- registry log\n${p.registries[0].logs(8)}`,
            );
            const names = report.steps.map((s) => s.name);
            if (p.controllers.length > 1)
                assert.ok(
                    names.some((n) => n.startsWith("controller: rule seen")),
                    "the journey did not check the other controller",
                );
            if (p.registries.length > 1)
                assert.ok(
                    names.some((n) => n.startsWith("registry: instances seen")),
                    "the journey did not check the other registry",
                );
            if (p.target.token !== undefined)
                assert.ok(
                    names.some((n) => n.startsWith("auth:")),
                    "the journey did not check a forged token",
                );
        });

        it(
            "keeps rules and instances when every service is SIGKILLed and started again " +
                "(and rules when a standalone or external Redis is)",
            async function () {
                this.timeout(90000);
                const p = plane as LoopbackControlPlane;
                const written = await writeRuleAndInstance(p);
                try {
                    await restartServices(p);
                    assert.deepEqual(
                        await missingAfterRestart(p, written, { instances: true }),
                        [],
                        "lost across a restart of the services",
                    );
                    if (p.redis.mode !== "ha") {
                        await p.redis.restart();
                        // Upstream does not retry: a pooled connection to the old process fails once (500)
                        // on first use, so the data is looked for again, within a bound.
                        let problems: string[] = [];
                        const deadline = Date.now() + 10000;
                        do {
                            problems = await missingAfterRestart(p, written, { instances: true });
                            if (problems.length > 0) await sleep(250);
                        } while (problems.length > 0 && Date.now() < deadline);
                        assert.deepEqual(problems, [], `lost across a restart of the ${p.redis.mode} Redis`);
                    }
                } finally {
                    await removeWritten(p, written);
                }
            },
        );
    });
}
