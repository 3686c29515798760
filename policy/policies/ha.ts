/**
 * High availability: enough replicas, shared state, disruption budgets, spreading and rollouts
 * that keep capacity.
 */
import { a8Storage } from "../lib/a8Storage";
import { A8_STORAGE } from "../lib/amalgam8";
import { allowedDisruptions, deploymentMaxUnavailable, statefulSetMaxUnavailable } from "../lib/disruption";
import { declaresField, specOf } from "../lib/k8s";
import { Workload } from "../lib/model";
import { Rule, stackRule } from "../lib/policy";
import { selectorProblems } from "../lib/selector";
import { spreadOf } from "../lib/spread";
import { stackKeyHint } from "../lib/stackKeys";
import { plural, showLabels } from "../lib/text";

function replicasText(w: Workload): string {
    if (w.hpa) {
        return `${plural(w.replicas, "replica")} (minReplicas of ${w.hpa.ref})`;
    }
    return plural(w.replicas, "replica");
}

/** What the replica count survives, said as it is: n pods survive n - 1 node losses at once. */
function survivalText(n: number): string {
    if (n <= 1) return "one node drain or crash takes it down";
    return `it survives ${plural(n - 1, "node failure")} at once, and ${n} at once (a drain during a crash) take it down`;
}

export const minReplicas = stackRule<{ minReplicas: number }>({
    name: "ha-min-replicas",
    description:
        "The controller, the registry and every other Service-backed stateless workload (the Redis proxy included) run at least " +
        "`minReplicas` pods (an HPA's minReplicas counts).",
    enforcementLevel: "mandatory",
    protectsAgainst: "One pod means every drain, crash or rollout is an outage.",
    fix:
        "Raise `spec.replicas` (or the HPA's `minReplicas`) to at least `minReplicas`; for the stack, `controller.replicas`, " +
        "`registry.replicas` or `redis.haproxy.replicas`.",
    amalgam8Specific: false,
    properties: { minReplicas: { type: "integer", minimum: 1, default: 2, description: "Least replicas per workload." } },
    check(model, cfg, report) {
        for (const w of model.statelessServing()) {
            if (w.replicas >= cfg.minReplicas) {
                continue;
            }
            const storage = a8Storage(model, w);
            const fix =
                (w.hpa
                    ? `set minReplicas of ${w.hpa.ref} to at least ${cfg.minReplicas}`
                    : `set spec.replicas to at least ${cfg.minReplicas}`) + stackKeyHint((w.hpa ?? w).urn, (w.hpa ?? w).obj, "replicas");
            const memoryNote =
                storage && storage.memory
                    ? `; it uses in-memory storage (${storage.typeText}), so first move it to Redis ` +
                      `(${A8_STORAGE[storage.role].typeVar}=redis) or its replicas would not share state`
                    : "";
            report(
                `${w.ref} runs ${replicasText(w)}, fewer than the ${cfg.minReplicas} required: ${survivalText(w.replicas)}. ` +
                    `${fix[0].toUpperCase()}${fix.slice(1)}${memoryNote}.`,
                w,
            );
        }
    },
});

export const noReplicatedMemoryStore = stackRule({
    name: "ha-no-replicated-memory-store",
    description:
        "An Amalgam8 service with in-memory storage (`A8_DATABASE_TYPE=memory`, `A8_STORE=inmem`, or unset) never runs more than one " +
        "replica: each replica would hold its own rules or catalogue.",
    enforcementLevel: "mandatory",
    protectsAgainst: "In-memory replicas each hold their own rules or catalogue; clients get different answers.",
    fix: "Set `storage: redis` (`A8_DATABASE_TYPE=redis` / `A8_STORE=redis` with an address), or run one replica.",
    amalgam8Specific: true,
    check(model, _cfg, report) {
        for (const w of model.replicated()) {
            const s = a8Storage(model, w);
            if (!s || !s.memory) {
                continue;
            }
            const max = w.hpa ? Math.max(w.replicas, Number(specOf(w.hpa.obj, "HorizontalPodAutoscaler").maxReplicas ?? 1)) : w.replicas;
            if (max <= 1) {
                continue;
            }
            const st = A8_STORAGE[s.role];
            report(
                `${w.ref} can run ${max} replicas with in-memory storage (${s.typeText}): every replica would keep its own state and ` +
                    `clients would see different answers. ` +
                    `Set ${st.typeVar}=redis with ${st.addressVar} (and ${st.passwordVar} from a Secret), or run a single replica.`,
                w,
            );
        }
    },
});

export const pdbRequired = stackRule({
    name: "ha-pdb-required",
    description:
        "Every workload with 2 or more replicas is matched by exactly one PodDisruptionBudget in its namespace (full label-selector " +
        "match on the pod labels).",
    enforcementLevel: "mandatory",
    protectsAgainst: "Without a PodDisruptionBudget a drain can evict all pods; with two the eviction API refuses and drains hang.",
    fix: "Add exactly one policy/v1 PodDisruptionBudget selecting the pods, with `maxUnavailable: 1`.",
    amalgam8Specific: false,
    check(model, _cfg, report) {
        for (const w of model.replicated()) {
            if (w.replicas < 2) {
                continue;
            }
            const pdbs = model.pdbsFor(w);
            if (pdbs.length === 0) {
                report(
                    `${w.ref} (${replicasText(w)}) has no PodDisruptionBudget: a node drain may evict all its pods at once. ` +
                        `Add a policy/v1 PodDisruptionBudget${w.namespace ? ` in namespace ${w.namespace}` : ""} with ` +
                        `selector.matchLabels ${showLabels(w.pod.labels)} and maxUnavailable: 1.`,
                    w,
                );
            } else if (pdbs.length > 1) {
                report(
                    `${w.ref} is matched by ${pdbs.length} PodDisruptionBudgets (${pdbs.map((p) => p.ref).join(", ")}): the eviction API ` +
                        `refuses to evict pods covered by more than one, so drains hang. Keep exactly one.`,
                    w,
                );
            }
        }
    },
});

export const pdbAllowsDisruption = stackRule({
    name: "ha-pdb-allows-disruption",
    description:
        "Each PodDisruptionBudget sets exactly one of minAvailable/maxUnavailable, has a valid selector, and lets at least one pod of " +
        "every workload it matches be evicted (else node drains never finish).",
    enforcementLevel: "mandatory",
    protectsAgainst: "A PDB that allows zero disruptions blocks node drains forever.",
    fix: "Set exactly one of `minAvailable`/`maxUnavailable`, preferably `maxUnavailable: 1`, with a selector matching the pods.",
    amalgam8Specific: false,
    check(model, _cfg, report) {
        for (const pdb of model.ofKind("PodDisruptionBudget")) {
            const spec = specOf(pdb.obj, "PodDisruptionBudget");
            const hasMin = spec.minAvailable !== undefined && spec.minAvailable !== null;
            const hasMax = spec.maxUnavailable !== undefined && spec.maxUnavailable !== null;
            if (hasMin === hasMax) {
                report(
                    `${pdb.ref} sets ${hasMin ? "both minAvailable and maxUnavailable" : "neither minAvailable nor maxUnavailable"}: set ` +
                        `exactly one, preferably maxUnavailable: 1.`,
                    pdb,
                );
                continue;
            }
            const problems = selectorProblems(spec.selector);
            if (!spec.selector || problems.length > 0) {
                report(
                    `${pdb.ref} has ${spec.selector ? `an invalid selector (${problems.join("; ")})` : "no selector"}: set ` +
                        `spec.selector.matchLabels to the pod labels of its workload.`,
                    pdb,
                );
                continue;
            }
            for (const w of model.pdbTargets(pdb)) {
                const allowed = allowedDisruptions(pdb, w.replicas);
                if (allowed === undefined) {
                    report(
                        `${pdb.ref} has an unreadable ${hasMax ? "maxUnavailable" : "minAvailable"} ` +
                            `(${JSON.stringify(hasMax ? spec.maxUnavailable : spec.minAvailable)}): use an integer or a percentage like ` +
                            `"50%".`,
                        pdb,
                    );
                    break;
                }
                if (allowed < 1) {
                    const setting = hasMax
                        ? `maxUnavailable: ${JSON.stringify(spec.maxUnavailable)}`
                        : `minAvailable: ${JSON.stringify(spec.minAvailable)}`;
                    const alternative =
                        w.replicas > 1 ? ` or minAvailable of at most ${w.replicas - 1}` : `, and run ${w.ref} with at least 2 replicas`;
                    report(
                        `${pdb.ref} (${setting}) allows no eviction of ${w.ref}, which runs ${replicasText(w)}: ` +
                            `node drains would block forever. Use maxUnavailable: 1${alternative}.`,
                        pdb,
                    );
                }
            }
        }
    },
});

interface SpreadConfig {
    topologyKeys: string[];
    requireHardForRedis: boolean;
}

export const spreadReplicas = stackRule<SpreadConfig>({
    name: "ha-spread-replicas",
    description:
        "Pods of a multi-replica workload are spread across nodes: podAntiAffinity or a topologySpreadConstraint on " +
        "kubernetes.io/hostname whose selector matches the pods' own labels. Redis (data nodes and Sentinels) needs the hard form.",
    enforcementLevel: "mandatory",
    protectsAgainst: "Replicas on one node fail together.",
    fix:
        "Add podAntiAffinity or a topologySpreadConstraint on `kubernetes.io/hostname` selecting the pods' own labels (required / " +
        "DoNotSchedule for Redis).",
    amalgam8Specific: false,
    properties: {
        topologyKeys: {
            type: "array",
            items: { type: "string" },
            default: ["kubernetes.io/hostname"],
            description: "Topology keys that count as node-level spreading.",
        },
        requireHardForRedis: {
            type: "boolean",
            default: true,
            description:
                "Redis pods need required anti-affinity or a DoNotSchedule constraint (a soft rule may co-locate primary and replica).",
        },
    },
    check(model, cfg, report) {
        for (const w of model.replicated()) {
            if (w.replicas < 2) {
                continue;
            }
            const s = spreadOf(w, cfg.topologyKeys);
            const redis = w.redisRole === "server" || w.redisRole === "sentinel";
            const keys = cfg.topologyKeys.join(" or ");
            const needsHard = redis && cfg.requireHardForRedis;
            const antiAffinity = `${needsHard ? "" : "preferred/"}requiredDuringSchedulingIgnoredDuringExecution`;
            const how =
                `add spec.template.spec.affinity.podAntiAffinity.${antiAffinity} ` +
                `with topologyKey ${keys} and labelSelector.matchLabels ${showLabels(w.pod.labels)}, or a topologySpreadConstraint on ` +
                `${keys} (maxSkew: 1${needsHard ? ", whenUnsatisfiable: DoNotSchedule" : ""})`;
            if (s.problems.length > 0) {
                report(`${w.ref}: ${s.problems.join("; ")}. Fix it: ${how}.`, w);
            } else if (!s.soft) {
                report(`${w.ref} (${replicasText(w)}) may put all its pods on one node: ${how}.`, w);
            } else if (needsHard && !s.hard) {
                report(
                    `${w.ref} only prefers to spread its Redis pods: the scheduler may still put the primary and a replica on one node. ` +
                        `Make it requiredDuringSchedulingIgnoredDuringExecution (or whenUnsatisfiable: DoNotSchedule) on ${keys}.`,
                    w,
                );
            }
        }
    },
});

export const rollingUpdate = stackRule({
    name: "ha-rolling-update",
    description:
        "Deployments roll out with RollingUpdate (not Recreate) and keep capacity: maxUnavailable below the replica count; StatefulSet " +
        "rolling updates likewise.",
    enforcementLevel: "mandatory",
    protectsAgainst: "Recreate or an unbounded maxUnavailable takes the service down on every rollout.",
    fix: "Use `strategy.type: RollingUpdate` with `maxUnavailable` below the replica count (0 with `maxSurge: 1`).",
    amalgam8Specific: false,
    check(model, _cfg, report) {
        for (const w of model.workloads) {
            if (w.kind === "Deployment") {
                const strategy = specOf(w.obj, "Deployment").strategy ?? {};
                if (strategy.type === "Recreate") {
                    report(
                        `${w.ref} uses strategy Recreate, which stops every pod before starting new ones: use type RollingUpdate with ` +
                            `maxUnavailable: 0 and maxSurge: 1.`,
                        w,
                    );
                    continue;
                }
                const mu = deploymentMaxUnavailable(w);
                if (mu >= w.replicas) {
                    report(
                        `${w.ref} allows ${plural(mu, "unavailable pod")} during a rollout out of ${w.replicas}: set ` +
                            `spec.strategy.rollingUpdate.maxUnavailable below ${w.replicas} (0 with maxSurge: 1 keeps full capacity).`,
                        w,
                    );
                }
            } else if (w.kind === "StatefulSet") {
                const mu = statefulSetMaxUnavailable(w);
                if (
                    (specOf(w.obj, "StatefulSet").updateStrategy?.type ?? "RollingUpdate") === "RollingUpdate" &&
                    w.replicas > 1 &&
                    mu >= w.replicas
                ) {
                    report(
                        `${w.ref} lets ${mu} of ${w.replicas} pods be down during an update: set ` +
                            `updateStrategy.rollingUpdate.maxUnavailable to 1.`,
                        w,
                    );
                }
            }
        }
    },
});

export const rollingUpdateSurge = stackRule({
    name: "ha-rolling-update-surge",
    description:
        "Advisory: multi-replica Deployments roll out with maxUnavailable 0 (and maxSurge >= 1) so a rollout never lowers capacity.",
    enforcementLevel: "advisory",
    protectsAgainst: "A rollout that removes pods before adding new ones runs below capacity.",
    fix: "Set `strategy.rollingUpdate.maxUnavailable: 0` and `maxSurge: 1`.",
    amalgam8Specific: false,
    check(model, _cfg, report) {
        for (const w of model.workloads) {
            if (w.kind !== "Deployment" || w.replicas < 2 || specOf(w.obj, "Deployment").strategy?.type === "Recreate") {
                continue;
            }
            const mu = deploymentMaxUnavailable(w);
            if (mu > 0) {
                report(
                    `${w.ref} may drop ${plural(mu, "pod")} during a rollout: set spec.strategy.rollingUpdate.maxUnavailable: 0 and ` +
                        `maxSurge: 1.`,
                    w,
                );
            }
        }
    },
});

export const hpaConsistency = stackRule<{ minReplicas: number }>({
    name: "ha-hpa-consistency",
    description:
        "A HorizontalPodAutoscaler keeps minReplicas >= `minReplicas` and maxReplicas above it (judged on its own when its target is not " +
        "in the input), and a target in the input leaves spec.replicas unset (else every update resets the scale).",
    enforcementLevel: "mandatory",
    protectsAgainst: "A dangling or pinned HPA does not scale; a set `spec.replicas` resets the scale on every update.",
    fix: "Keep `minReplicas` >= 2 and `maxReplicas` above it, and leave the target's `spec.replicas` unset.",
    amalgam8Specific: false,
    properties: { minReplicas: { type: "integer", minimum: 1, default: 2, description: "Least minReplicas of an HPA." } },
    check(model, cfg, report) {
        for (const h of model.ofKind("HorizontalPodAutoscaler")) {
            const spec = specOf(h.obj, "HorizontalPodAutoscaler");
            const ref = { kind: spec.scaleTargetRef?.kind, name: spec.scaleTargetRef?.name };
            const target = model.workloads.find((w) => w.namespace === h.namespace && w.kind === ref.kind && w.name === ref.name);
            const targetText = target ? target.ref : `${ref.kind}/${ref.name}`;
            const min = typeof spec.minReplicas === "number" ? spec.minReplicas : 1;
            const max = Number(spec.maxReplicas);
            if (min < cfg.minReplicas) {
                report(
                    `${h.ref} lets ${targetText} scale down to ${plural(min, "pod")}: set minReplicas to at least ` +
                        `${cfg.minReplicas}${stackKeyHint(h.urn, h.obj, "minReplicas")}.`,
                    h,
                );
            }
            if (!(max > min)) {
                report(
                    `${h.ref} has maxReplicas ${spec.maxReplicas} not above minReplicas ${min}: it can never scale; raise ` +
                        `maxReplicas${stackKeyHint(h.urn, h.obj, "maxReplicas")} or drop the HPA.`,
                    h,
                );
            }
            if (target && declaresField(target.obj, ["spec", "replicas"])) {
                report(
                    `${target.ref} sets spec.replicas while ${h.ref} scales it: every update resets the replica count. Leave ` +
                        `spec.replicas unset when autoscaling.`,
                    target,
                );
            }
        }
    },
});

export const haPolicies: Rule[] = [
    minReplicas,
    noReplicatedMemoryStore,
    pdbRequired,
    pdbAllowsDisruption,
    spreadReplicas,
    rollingUpdate,
    rollingUpdateSurge,
    hpaConsistency,
];
