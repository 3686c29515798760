/**
 * Reliability: probes, resources, pinned images, managed workloads, selectors and Service wiring.
 */
import { containerA8Role } from "../lib/amalgam8";
import {
    Container,
    K8sObject,
    containerPorts,
    containersOf,
    kindOf,
    parseImage,
    podTemplateOf,
    refOf,
    workloadContainers,
} from "../lib/k8s";
import { Rule, resourceRule, stackRule } from "../lib/policy";
import { LabelSelector, matchesLabelSelector, matchesMapSelector, selectorProblems } from "../lib/selector";
import { showLabels } from "../lib/storage";
import { stackKeyHint } from "../lib/stackKeys";

/** Long-running pod owners: probes, resources and security apply to them. */
export const POD_KINDS = ["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Pod", "Job", "CronJob"];
const SERVING_KINDS = ["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Pod"];

function cname(c: Container): string {
    return typeof c.name === "string" ? c.name : "<unnamed>";
}

/** A container that declares a port serves traffic, so readiness decides whether it gets any. */
function servingContainers(obj: K8sObject): Container[] {
    const pod = podTemplateOf(obj);
    return pod ? containersOf(pod.spec).filter((c) => containerPorts(c).length > 0) : [];
}

function probeHandler(p: any): string | undefined {
    if (!p || typeof p !== "object") return undefined;
    const host = (h: unknown) => (typeof h === "string" && h !== "" ? ` on host ${h}` : "");
    if (p.httpGet) {
        const scheme = p.httpGet.scheme && p.httpGet.scheme !== "HTTP" ? ` ${p.httpGet.scheme}` : "";
        return `httpGet${scheme} ${p.httpGet.path ?? "/"} on port ${p.httpGet.port}${host(p.httpGet.host)}`;
    }
    if (p.tcpSocket) return `tcpSocket on port ${p.tcpSocket.port}${host(p.tcpSocket.host)}`;
    if (p.grpc) return `grpc on port ${p.grpc.port}${p.grpc.service ? ` service ${p.grpc.service}` : ""}`;
    if (p.exec) return `exec ${JSON.stringify(p.exec.command ?? [])}`;
    return undefined;
}

function probePort(p: any): unknown {
    return p?.httpGet?.port ?? p?.tcpSocket?.port ?? p?.grpc?.port;
}

export const readinessProbe = resourceRule({
    name: "rel-readiness-probe",
    description:
        "Every serving container (one that declares a port) has a readinessProbe with a handler; a named probe port exists on the container; images without a shell (Amalgam8) use httpGet/tcpSocket, not exec.",
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
                report(`${refOf(obj)} container ${cname(c)} has no readinessProbe: a starting or broken pod gets traffic. Add a readinessProbe (${suggestion}).`);
                continue;
            }
            if (!probeHandler(p)) {
                report(`${refOf(obj)} container ${cname(c)} has a readinessProbe without a handler: use ${suggestion}.`);
                continue;
            }
            const port = probePort(p);
            if (typeof port === "string" && !containerPorts(c).some((cp) => cp?.name === port)) {
                report(`${refOf(obj)} container ${cname(c)} probes the named port "${port}", which the container does not declare: name a port "${port}" or probe a declared port.`);
            }
            if (p.exec && containerA8Role(c)) {
                report(`${refOf(obj)} container ${cname(c)} uses an exec readinessProbe, but the Amalgam8 images have no shell or tools: use ${suggestion}.`);
            }
        }
    },
});

export const livenessProbe = resourceRule({
    name: "rel-liveness-probe",
    description: "Advisory: serving containers have a livenessProbe, and it is not identical to the readinessProbe (a shared check restarts pods that are only busy).",
    enforcementLevel: "advisory",
    protectsAgainst: "A hung process should restart; a check shared with readiness restarts pods that are merely busy.",
    fix: "Add a livenessProbe that differs from the readinessProbe (e.g. tcpSocket).",
    amalgam8Specific: false,
    kinds: SERVING_KINDS,
    check(obj, _cfg, report) {
        for (const c of servingContainers(obj)) {
            const live = probeHandler(c.livenessProbe);
            if (!live) {
                report(`${refOf(obj)} container ${cname(c)} has no livenessProbe: add one (e.g. tcpSocket on the serving port) so a hung process is restarted.`);
            } else if (live === probeHandler(c.readinessProbe)) {
                report(`${refOf(obj)} container ${cname(c)} uses the same check (${live}) for liveness and readiness: give liveness its own check (e.g. tcpSocket when readiness is httpGet, or a dedicated health endpoint) so a busy pod is taken out of rotation, not restarted.`);
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
    kinds: POD_KINDS,
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
                report(`${refOf(obj)} container ${cname(c)} lacks resources.${missing.join(", resources.")}: set them${stackKeyHint(urn, obj, "resources")} so the scheduler places it on a node with room and a leak cannot starve its neighbours.`);
            }
        }
    },
});

export function imageProblem(image: unknown, requireDigest: boolean): string | undefined {
    if (typeof image !== "string" || image.trim() === "") {
        return "has no image";
    }
    const ref = parseImage(image);
    if (ref.digest) {
        return /^sha256:[0-9a-f]{64}$/.test(ref.digest) ? undefined : `has a malformed digest (${ref.digest})`;
    }
    if (requireDigest) {
        return `uses ${image} without a digest: pin it as ${ref.repository}:${ref.tag ?? "<tag>"}@sha256:<digest>`;
    }
    if (!ref.tag) {
        return `uses ${image} without a tag (= latest, which changes under you): pin a release tag, e.g. ${ref.repository}:<version>`;
    }
    if (ref.tag.toLowerCase() === "latest") {
        return `uses the mutable tag latest (${image}): pin a release tag or a digest`;
    }
    return undefined;
}

export const imagePinned = resourceRule<{ requireDigest: boolean }>({
    name: "rel-image-pinned",
    description: "Every image has an explicit tag other than `latest`, or a sha256 digest.",
    enforcementLevel: "mandatory",
    protectsAgainst: "Untagged or `latest` images change under you; rollbacks become impossible.",
    fix: "Use an explicit tag other than `latest`, or a `@sha256:` digest.",
    amalgam8Specific: false,
    kinds: POD_KINDS,
    properties: { requireDigest: { type: "boolean", default: false, description: "Require a @sha256 digest on every image." } },
    check(obj, cfg, report, { urn }) {
        for (const c of workloadContainers(obj)) {
            const p = imageProblem(c.image, cfg.requireDigest);
            if (p) {
                report(`${refOf(obj)} container ${cname(c)} ${p}${stackKeyHint(urn, obj, "image")}.`);
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
        report(`${refOf(obj)} is a ReplicationController, which has no server-side rolling update or rollback: replace it with an apps/v1 Deployment (or a StatefulSet for Redis).`);
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
    kinds: ["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController"],
    check(obj, _cfg, report) {
        const pod = podTemplateOf(obj);
        const labels = pod?.labels ?? {};
        const sel = obj.spec?.selector;
        if (kindOf(obj) === "ReplicationController") {
            // An RC without a selector defaults to its template labels.
            if (sel && !matchesMapSelector(sel, labels)) {
                report(`${refOf(obj)} selector ${showLabels(sel)} does not match its template labels ${showLabels(labels)}: make them agree.`);
            }
            return;
        }
        if (!sel) {
            report(`${refOf(obj)} has no spec.selector: set selector.matchLabels to (a subset of) the template labels ${showLabels(labels)}.`);
            return;
        }
        const problems = selectorProblems(sel);
        if (problems.length > 0) {
            report(`${refOf(obj)} has an invalid selector: ${problems.join("; ")}.`);
        } else if (!matchesLabelSelector(sel as LabelSelector, labels)) {
            report(`${refOf(obj)} selector does not match its template labels ${showLabels(labels)}: the API server rejects it. Use matchLabels that are a subset of the template labels.`);
        }
    },
});

export const serviceSelectsOneWorkload = stackRule({
    name: "svc-selects-one-workload",
    description: "Every Service (except ExternalName) has a selector that matches the pods of exactly one workload in its namespace.",
    enforcementLevel: "mandatory",
    protectsAgainst: "A Service with no endpoints, or one mixing workloads, misroutes traffic.",
    fix: "Set the Service selector to the pod labels of exactly one workload.",
    amalgam8Specific: false,
    check(model, _cfg, report) {
        for (const svc of model.ofKind("Service")) {
            if (svc.obj.spec?.type === "ExternalName") {
                continue;
            }
            const sel = svc.obj.spec?.selector;
            if (!sel || Object.keys(sel).length === 0) {
                report(`${svc.ref} has no selector, so it routes to no pod unless Endpoints are managed by hand: set spec.selector to its workload's pod labels.`, svc);
                continue;
            }
            const targets = model.serviceTargets(svc);
            if (targets.length === 0) {
                report(`${svc.ref} selector ${showLabels(sel)} matches no workload${svc.namespace ? ` in namespace ${svc.namespace}` : ""}: it has no endpoints. Use the pod labels of the workload it fronts.`, svc);
            } else if (targets.length > 1) {
                report(
                    `${svc.ref} selector ${showLabels(sel)} matches ${targets.map((t) => t.ref).join(", ")}: traffic would be spread over different workloads. ` +
                        `Add a distinguishing label (e.g. app.kubernetes.io/name or app.kubernetes.io/component) to the selector.`,
                    svc,
                );
            }
        }
    },
});

function portResolves(target: unknown, protocol: string, c: Container): boolean {
    return containerPorts(c).some(
        (p) => (p?.protocol ?? "TCP") === protocol && (typeof target === "number" ? p?.containerPort === target : p?.name === target),
    );
}

export const serviceTargetPort = stackRule({
    name: "svc-target-port",
    description: "Every Service port's targetPort (or port, when unset) is a container port of the selected pods, by number or by name, with the same protocol.",
    enforcementLevel: "mandatory",
    protectsAgainst: "A wrong target port is a Service that never answers.",
    fix: "Set `targetPort` to a declared container port (number or name) with the same protocol.",
    amalgam8Specific: false,
    check(model, _cfg, report) {
        for (const svc of model.ofKind("Service")) {
            if (svc.obj.spec?.type === "ExternalName") {
                continue;
            }
            const targets = model.serviceTargets(svc);
            for (const port of Array.isArray(svc.obj.spec?.ports) ? svc.obj.spec.ports : []) {
                let target: unknown = port?.targetPort ?? port?.port;
                if (typeof target === "string" && /^\d+$/.test(target)) target = Number(target);
                const protocol = port?.protocol ?? "TCP";
                for (const w of targets) {
                    if (!containersOf(w.pod.spec).some((c) => portResolves(target, protocol, c))) {
                        const declared = containersOf(w.pod.spec)
                            .flatMap((c) => containerPorts(c).map((p) => (p?.name ? `${p.containerPort} (${p.name})` : `${p?.containerPort}`)))
                            .join(", ");
                        report(
                            `${svc.ref} port ${port?.port} targets ${JSON.stringify(target)}/${protocol}, which no container of ${w.ref} declares (declared: ${declared || "none"}): ` +
                                `set targetPort to a declared containerPort or port name, or declare the port on the container.`,
                            svc,
                        );
                    }
                }
            }
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
    serviceSelectsOneWorkload,
    serviceTargetPort,
];
