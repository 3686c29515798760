// images.yml and the Dockerfiles it builds: patched Amalgam8 images, pushed to ghcr.io on a tag only.

import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { type Job, type Workflow, isDict, loadWorkflow, instances, repoRoot, stepLabel } from "./helpers";

const FILE = "images.yml";
const IMAGE_DIR = path.join("images", "amalgam8");
const SERVICES = ["controller", "registry"];

const isBuildPush = (uses: string | undefined): boolean => /^docker\/build-push-action@/.test(uses ?? "");

/** The event and ref filters of `on:` as a mapping. */
function triggers(wf: Workflow): Record<string, any> {
    assert.ok(isDict(wf.on), "on: must be a mapping with filters");
    return wf.on as Record<string, any>;
}

/** Whether a job condition limits the job to pushes of a tag. */
function tagOnly(job: Job): boolean {
    const cond = job.if ?? "";
    return /github\.event_name == 'push'/.test(cond) && /startsWith\(github\.ref, 'refs\/tags\//.test(cond);
}

function dockerfile(service: string): string {
    return fs.readFileSync(path.join(repoRoot, IMAGE_DIR, `Dockerfile.${service}`), "utf8");
}

/** FROM lines and the instructions of the last stage. */
function stages(text: string): { froms: string[]; final: string[] } {
    const lines = text
        .split("\n")
        .map((l) => l.trim())
        .filter((l) => l !== "" && !l.startsWith("#"));
    const fromAt = lines.map((l, i) => (/^FROM\s/i.test(l) ? i : -1)).filter((i) => i >= 0);
    return { froms: fromAt.map((i) => lines[i]), final: lines.slice(fromAt[fromAt.length - 1] + 1) };
}

describe("GitHub workflows: images.yml", () => {
    const wf = (): Workflow => loadWorkflow(FILE);

    it("runs on image tags (no branch pushes) and on pull requests that touch the images", () => {
        const on = triggers(wf());
        assert.deepEqual(Object.keys(on).sort(), ["pull_request", "push"]);
        assert.deepEqual(on.push.tags, ["images-v*"]);
        assert.equal(on.push.branches, undefined, "a branch push must not publish images");
        assert.ok((on.pull_request.paths ?? []).includes("images/**"));
    });

    it("pins every action to a full commit SHA", () => {
        for (const [id, job] of Object.entries(wf().jobs)) {
            for (const step of job.steps ?? []) {
                if (step.uses !== undefined) assert.match(step.uses, /^[\w.-]+\/[\w.-]+@[0-9a-f]{40}$/, `${id} / ${stepLabel(step)}`);
            }
        }
    });

    it("builds both Dockerfiles, from images/amalgam8, in every job", () => {
        const w = wf();
        for (const [id, job] of Object.entries(w.jobs)) {
            const built = instances(w, job).flatMap((inst) =>
                inst.steps.filter((s) => isBuildPush(s.step.uses)).map((s) => ({ file: s.with.file, context: s.with.context })),
            );
            assert.deepEqual(
                built.map((b) => b.file).sort(),
                SERVICES.map((s) => `${IMAGE_DIR}/Dockerfile.${s}`),
                id,
            );
            for (const b of built) {
                assert.equal(b.context, IMAGE_DIR, `${id}: the context must hold the patches the Dockerfile copies`);
                assert.ok(fs.existsSync(path.join(repoRoot, b.file)), `${id}: ${b.file} does not exist`);
            }
        }
    });

    it("pushes only on tags, and only the tag job may write packages or log in", () => {
        const w = wf();
        let publishing = 0;
        for (const [id, job] of Object.entries(w.jobs)) {
            const steps = job.steps ?? [];
            const pushes = steps.filter((s) => isBuildPush(s.uses)).map((s) => s.with?.push);
            const writesPackages = isDict(job.permissions) && job.permissions.packages === "write";
            const logsIn = steps.some((s) => /^docker\/login-action@/.test(s.uses ?? ""));
            if (tagOnly(job)) {
                publishing++;
                assert.ok(
                    pushes.every((p) => p === true),
                    `${id}: pushes ${JSON.stringify(pushes)}`,
                );
                assert.ok(writesPackages && logsIn, `${id}: a publishing job needs packages: write and a registry login`);
                const login = steps.find((s) => /^docker\/login-action@/.test(s.uses ?? ""));
                assert.equal(login?.with?.registry, "ghcr.io");
                assert.match(String(login?.with?.password), /secrets\.GITHUB_TOKEN/);
            } else {
                assert.ok(
                    pushes.every((p) => p === false),
                    `${id} runs on pull requests and must not push (push: ${JSON.stringify(pushes)})`,
                );
                assert.ok(!writesPackages && !logsIn, `${id}: only the tag job may write packages or log in`);
            }
        }
        assert.equal(publishing, 1, "exactly one job publishes");
    });

    it("tags the images from the git tag, in ghcr.io", () => {
        const publish = Object.values(wf().jobs).find(tagOnly) as Job;
        const meta = (publish.steps ?? []).find((s) => /^docker\/metadata-action@/.test(s.uses ?? ""));
        assert.match(String(meta?.with?.images), /^ghcr\.io\/\$\{\{ github\.repository_owner \}\}\/a8-\$\{\{ matrix\.service \}\}$/);
        assert.match(String(meta?.with?.tags), /type=match,pattern=images-v\(\.\*\),group=1/);
        const build = (publish.steps ?? []).find((s) => isBuildPush(s.uses));
        assert.match(String(build?.with?.tags), /steps\.meta\.outputs\.tags/);
    });
});

describe("images/amalgam8 Dockerfiles", () => {
    const layout: Record<string, { workdir: string; copies: RegExp[] }> = {
        controller: {
            workdir: "/opt/a8controller",
            copies: [
                /\/a8controller$/,
                /\/controller\/locales \/opt\/a8controller\/locales$/,
                /\/pkg\/api\/rules-schema\.json \/opt\/a8controller\/rules-schema\.json$/,
            ],
        },
        registry: { workdir: "/opt/a8registry", copies: [/\/a8registry$/, /\/registry\/messages \/opt\/a8registry\/locales$/] },
    };

    for (const service of SERVICES) {
        it(
            `Dockerfile.${service}: a pinned Go build stage with upstream v1.1.0 + every patch, ` +
                "then FROM scratch laid out like upstream",
            () => {
                const text = dockerfile(service);
                const { froms, final } = stages(text);
                assert.equal(froms.length, 2, "two stages: build, then the image");
                assert.match(froms[0], /^FROM \$\{GO_IMAGE\} AS build$/);
                assert.match(text, /^ARG GO_IMAGE=golang:\d+\.\d+\.\d+-\w+$/m, "the Go image has an exact version");
                assert.match(text, /^ARG AMALGAM8_REF=v1\.1\.0$/m);
                assert.match(text, /^ARG AMALGAM8_COMMIT=[0-9a-f]{40}$/m);
                assert.match(text, /test "\$\(git rev-parse HEAD\)" = "\$AMALGAM8_COMMIT"/, "the tag is checked against the commit");
                assert.match(text, /^COPY patches\/ \/patches\/$/m);
                assert.match(text, /for p in \/patches\/\*\.patch; do .*git apply "\$p" \|\| exit 1; done/);
                assert.equal(froms[1], "FROM scratch");
                const w = layout[service];
                assert.equal(final[0], `WORKDIR ${w.workdir}`);
                const copies = final.filter((l) => l.startsWith("COPY --from=build "));
                for (const re of w.copies)
                    assert.ok(
                        copies.some((c) => re.test(c)),
                        `${service}: no COPY matching ${re}`,
                    );
                assert.ok(final.includes(`ENTRYPOINT ["${w.workdir}/a8${service}"]`));
                assert.ok(final.includes("EXPOSE 8080"));
            },
        );
    }

    it("the patch series is numbered and non-empty", () => {
        const patches = fs
            .readdirSync(path.join(repoRoot, IMAGE_DIR, "patches"))
            .filter((f) => f.endsWith(".patch"))
            .sort();
        assert.ok(patches.length > 0);
        patches.forEach((p, i) => assert.match(p, new RegExp(`^${String(i + 1).padStart(4, "0")}-[a-z0-9-]+\\.patch$`), p));
    });
});
