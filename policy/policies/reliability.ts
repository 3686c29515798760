/**
 * Reliability: probes, resources, pinned images, managed workloads and selectors that match their pods.
 */
import { containerA8Role } from "../lib/amalgam8";
import { ImageReferenceProblem, imageReferenceProblem } from "../lib/image";
import { containerName, containerPorts, kindOf, podTemplateOf, refOf, workloadContainers } from "../lib/k8s";
import { SELECTOR_KINDS, SERVING_KINDS, WORKLOAD_KINDS } from "../lib/kinds";
import { Rule, resourceRule } from "../lib/policy";
import { probeHandler, probePort, servingContainers } from "../lib/probes";
import { LabelSelector, matchesLabelSelector, matchesMapSelector, selectorProblems } from "../lib/selector";
import { stackKeyHint } from "../lib/stackKeys";
import { showLabels } from "../lib/text";

export const readinessProbe = resourceRule({
    name: "rel-readiness-probe",
    description:
        "Every serving container (one that declares a port) has a readinessProbe with a handler; a named probe port exists on the " +
        "container; images without a shell (Amalgam8) use httpGet/tcpSocket, not exec.",
    enforcementLevel: "mandatory",
    protectsAgainst: "Without readiness, starting or broken pods receive traffic.",
    fix: "Add a readinessProbe with an httpGet or tcpSocket handler on a declared port (controller `GET /health`, registry `GET /uptime`).",
    amalgam8Specific: true,
    kinds: SERVING_KINDS,
    check(obj, _cfg, report) {
        for (const c of servingContainers(obj)) {
            const p = c.readinessProbe;
            const suggestion =
                containerA8Role(c) === "controller"
                    ? "httpGet /health on port 8080"
                    : containerA8Role(c) === "registry"
                      ? "httpGet /uptime on port 8080"
                      : `tcpSocket or httpGet on port ${containerPorts(c)[0]?.containerPort}`;
            if (!p) {
                report(
                    `${refOf(obj)} container ${containerName(c)} has no readinessProbe: a starting or broken pod gets traffic. Add a ` +
                        `readinessProbe (${suggestion}).`,
                );
                continue;
            }
            if (!probeHandler(p)) {
                report(`${refOf(obj)} container ${containerName(c)} has a readinessProbe without a handler: use ${suggestion}.`);
                continue;
            }
            const port = probePort(p);
            if (typeof port === "string" && !containerPorts(c).some((cp) => cp?.name === port)) {
                report(
                    `${refOf(obj)} container ${containerName(c)} probes the named port "${port}", which the container does not declare: ` +
                        `name a port "${port}" or probe a declared port.`,
                );
            }
            if (p.exec && containerA8Role(c)) {
                report(
                    `${refOf(obj)} container ${containerName(c)} uses an exec readinessProbe, but the Amalgam8 images have no shell or ` +
                        `tools: use ${suggestion}.`,
                );
            }
        }
    },
});

export const livenessProbe = resourceRule({
    name: "rel-liveness-probe",
    description:
        "Advisory: serving containers have a livenessProbe, and it is not identical to the readinessProbe (a shared check restarts pods " +
        "that are only busy).",
    enforcementLevel: "advisory",
    protectsAgainst: "A hung process should restart; a check shared with readiness restarts pods that are merely busy.",
    fix: "Add a livenessProbe that differs from the readinessProbe (e.g. tcpSocket).",
    amalgam8Specific: false,
    kinds: SERVING_KINDS,
    check(obj, _cfg, report) {
        for (const c of servingContainers(obj)) {
            const live = probeHandler(c.livenessProbe);
            if (!live) {
                report(
                    `${refOf(obj)} container ${containerName(c)} has no livenessProbe: add one (e.g. tcpSocket on the serving port) so a ` +
                        `hung process is restarted.`,
                );
            } else if (live === probeHandler(c.readinessProbe)) {
                report(
                    `${refOf(obj)} container ${containerName(c)} uses the same check (${live}) for liveness and readiness: give liveness ` +
                        `its own check (e.g. tcpSocket when readiness is httpGet, or a dedicated health endpoint) so a busy pod is taken ` +
                        `out of rotation, not restarted.`,
                );
            }
        }
    },
});

export const resources = resourceRule<{ requireCpuLimit: boolean }>({
    name: "rel-resources",
    description: "Every container (init containers too) sets requests.cpu, requests.memory and limits.memory (limits.cpu optional).",
    enforcementLevel: "mandatory",
    protectsAgainst: "Pods without requests land on full nodes; without a memory limit a leak starves neighbours.",
    fix: "Set `requests.cpu`, `requests.memory` and `limits.memory` on every container.",
    amalgam8Specific: false,
    kinds: WORKLOAD_KINDS,
    properties: { requireCpuLimit: { type: "boolean", default: false, description: "Also require limits.cpu." } },
    check(obj, cfg, report, { urn }) {
        for (const c of workloadContainers(obj)) {
            const missing: string[] = [];
            const r = c.resources ?? {};
            if (r.requests?.cpu === undefined) missing.push("requests.cpu");
            if (r.requests?.memory === undefined) missing.push("requests.memory");
            if (r.limits?.memory === undefined) missing.push("limits.memory");
            if (cfg.requireCpuLimit && r.limits?.cpu === undefined) missing.push("limits.cpu");
            if (missing.length > 0) {
                report(
                    `${refOf(obj)} container ${containerName(c)} lacks resources.${missing.join(", resources.")}: set ` +
                        `them${stackKeyHint(urn, obj, "resources")} so the scheduler places it on a node with room and a leak cannot ` +
                        `starve its neighbours.`,
                );
            }
        }
    },
});

/** What rel-image-pinned says about an image problem: where the container's name and the stack key follow. */
function imageProblemText(image: unknown, problem: ImageReferenceProblem): string {
    if (problem.kind === "missing") {
        return "has no image";
    }
    if (problem.kind === "not-a-reference") {
        return `has the image ${JSON.stringify(image)}, which is not an image reference: use name:tag or name@sha256:<digest>`;
    }
    const { repository, tag, digest } = problem.reference;
    switch (problem.kind) {
        case "malformed-digest":
            return `has a malformed digest (${digest})`;
        case "no-digest":
            return `uses ${image} without a digest: pin it as ${repository}:${tag ?? "<tag>"}@sha256:<digest>`;
        case "no-tag":
            return `uses ${image} without a tag (= latest, which changes under you): pin a release tag, e.g. ${repository}:<version>`;
        case "invalid-tag":
            return `uses ${image}, whose tag ${JSON.stringify(tag)} is not a valid tag: pin a release tag, e.g. ${repository}:<version>`;
        case "latest":
            return `uses the mutable tag latest (${image}): pin a release tag or a digest`;
    }
}

export const imagePinned = resourceRule<{ requireDigest: boolean }>({
    name: "rel-image-pinned",
    description: "Every image has an explicit tag other than `latest`, or a sha256 digest.",
    enforcementLevel: "mandatory",
    protectsAgainst: "Untagged or `latest` images change under you; rollbacks become impossible.",
    fix: "Use an explicit tag other than `latest`, or a `@sha256:` digest.",
    amalgam8Specific: false,
    kinds: WORKLOAD_KINDS,
    properties: { requireDigest: { type: "boolean", default: false, description: "Require a @sha256 digest on every image." } },
    check(obj, cfg, report, { urn }) {
        for (const c of workloadContainers(obj)) {
            const problem = imageReferenceProblem(c.image, { requireDigest: cfg.requireDigest });
            if (problem) {
                report(
                    `${refOf(obj)} container ${containerName(c)} ${imageProblemText(c.image, problem)}${stackKeyHint(urn, obj, "image")}.`,
                );
            }
        }
    },
});

export const noReplicationController = resourceRule({
    name: "rel-no-replication-controller",
    description: "No ReplicationController: use an apps/v1 Deployment (declarative rolling updates, revision history, rollbacks).",
    enforcementLevel: "mandatory",
    protectsAgainst: "ReplicationControllers have no server-side rolling update or rollback.",
    fix: "Replace it with an apps/v1 Deployment (a StatefulSet for Redis).",
    amalgam8Specific: false,
    kinds: ["ReplicationController"],
    check(obj, _cfg, report) {
        report(
            `${refOf(obj)} is a ReplicationController, which has no server-side rolling update or rollback: replace it with an apps/v1 ` +
                `Deployment (or a StatefulSet for Redis).`,
        );
    },
});

export const noBarePods = resourceRule({
    name: "rel-no-bare-pods",
    description: "No bare Pods: nothing recreates them after a node failure; run them under a Deployment or StatefulSet.",
    enforcementLevel: "mandatory",
    protectsAgainst: "Nothing reschedules a bare Pod when its node fails.",
    fix: "Run the pod under a Deployment or StatefulSet.",
    amalgam8Specific: false,
    kinds: ["Pod"],
    check(obj, _cfg, report) {
        report(`${refOf(obj)} is a bare Pod: nothing reschedules it when its node fails. Run it under a Deployment (or a StatefulSet).`);
    },
});

export const selectorMatchesTemplate = resourceRule({
    name: "rel-selector-matches-template",
    description: "A workload's spec.selector is valid and matches its own pod-template labels.",
    enforcementLevel: "mandatory",
    protectsAgainst: "A mismatch is rejected by the API server or orphans pods.",
    fix: "Make `spec.selector` a subset of the template labels.",
    amalgam8Specific: false,
    kinds: SELECTOR_KINDS,
    check(obj, _cfg, report) {
        const pod = podTemplateOf(obj);
        const labels = pod?.labels ?? {};
        const sel = obj.spec?.selector;
        if (kindOf(obj) === "ReplicationController") {
            // An RC without a selector defaults to its template labels.
            if (sel && !matchesMapSelector(sel, labels)) {
                report(
                    `${refOf(obj)} selector ${showLabels(sel)} does not match its template labels ${showLabels(labels)}: make them agree.`,
                );
            }
            return;
        }
        if (!sel) {
            report(
                `${refOf(obj)} has no spec.selector: set selector.matchLabels to (a subset of) the template labels ${showLabels(labels)}.`,
            );
            return;
        }
        const problems = selectorProblems(sel);
        if (problems.length > 0) {
            report(`${refOf(obj)} has an invalid selector: ${problems.join("; ")}.`);
        } else if (!matchesLabelSelector(sel as LabelSelector, labels)) {
            report(
                `${refOf(obj)} selector does not match its template labels ${showLabels(labels)}: the API server rejects it. Use ` +
                    `matchLabels that are a subset of the template labels.`,
            );
        }
    },
});

export const reliabilityPolicies: Rule[] = [
    readinessProbe,
    livenessProbe,
    resources,
    imagePinned,
    noReplicationController,
    noBarePods,
    selectorMatchesTemplate,
];
