import * as assert from "assert";
import {
    hpaConsistency,
    minReplicas,
    noReplicatedMemoryStore,
    pdbAllowsDisruption,
    pdbRequired,
    rollingUpdate,
    rollingUpdateSurge,
    spreadReplicas,
} from "../../policy/policies/ha";
import { K8sObject, refOf } from "../../policy/lib/k8s";
import { container, find, goodObjects, messages, podSpec, programUrn, refs, runStack, seedObjects, without } from "./helpers";

function hpa(target: string, min: number | undefined, max: number) {
    return {
        apiVersion: "autoscaling/v2",
        kind: "HorizontalPodAutoscaler",
        metadata: { name: target, namespace: "amalgam8" },
        spec: {
            scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: target },
            ...(min === undefined ? {} : { minReplicas: min }),
            maxReplicas: max,
        },
    };
}

describe("ha-min-replicas", () => {
    it("passes the good fixture", async () => {
        assert.deepStrictEqual(await runStack(minReplicas, goodObjects()), []);
    });
    it("flags a one-replica controller and says how to fix it", async () => {
        const objs = goodObjects();
        find(objs, "Deployment/controller").spec.replicas = 1;
        const f = await runStack(minReplicas, objs);
        assert.deepStrictEqual(refs(f), ["Deployment/controller"]);
        assert.match(
            messages(f),
            /runs 1 replica, fewer than the 2 required: one node drain or crash takes it down\. Set spec\.replicas to at least 2\./,
        );
    });
    it("says only what is true of two replicas: they survive one node failure", async () => {
        const objs = goodObjects();
        find(objs, "Deployment/controller").spec.replicas = 2;
        const text = messages(await runStack(minReplicas, objs, { minReplicas: 3 }));
        assert.match(
            text,
            /Deployment\/controller runs 2 replicas, fewer than the 3 required: it survives 1 node failure at once, and 2 at once/,
        );
        assert.doesNotMatch(text, /takes it down|replica\(s\)/);
    });
    it("names the stack key of an object rendered from a stack, not only the manifest field", async () => {
        const objs = goodObjects();
        find(objs, "Deployment/redis-haproxy").spec.replicas = 1;
        find(objs, "Deployment/redis-haproxy").metadata.labels["app.kubernetes.io/name"] = "redis-haproxy";
        const urnFor = (o: K8sObject) =>
            refOf(o) === "Deployment/redis-haproxy"
                ? programUrn(
                      o,
                      "amalgam8:index:ControlPlane",
                      "amalgam8:index:Redis",
                      "amalgam8:redis:RedisHa",
                      "amalgam8:redis:RedisProxy",
                  )
                : undefined;
        assert.match(
            messages(await runStack(minReplicas, objs, {}, urnFor)),
            /Set spec\.replicas to at least 2 \(stack key a8-control-plane:redis\.haproxy\.replicas\)\./,
        );
        // The same object as a plain manifest has no stack key to name.
        assert.doesNotMatch(messages(await runStack(minReplicas, objs)), /stack key/);
    });
    it("counts unset replicas as 1 and honours the minReplicas setting", async () => {
        const objs = goodObjects();
        delete find(objs, "Deployment/registry").spec.replicas;
        assert.deepStrictEqual(refs(await runStack(minReplicas, objs)), ["Deployment/registry"]);
        assert.deepStrictEqual(refs(await runStack(minReplicas, goodObjects(), { minReplicas: 4 })).sort(), [
            "Deployment/controller",
            "Deployment/redis-haproxy",
            "Deployment/registry",
        ]);
    });
    it("uses the HPA's minReplicas instead of spec.replicas", async () => {
        const objs = goodObjects();
        delete find(objs, "Deployment/registry").spec.replicas;
        assert.deepStrictEqual(await runStack(minReplicas, [...objs, hpa("registry", 3, 6)]), []);
        const f = await runStack(minReplicas, [...objs, hpa("registry", undefined, 6)]);
        assert.deepStrictEqual(refs(f), ["Deployment/registry"]);
        assert.match(messages(f), /minReplicas of HorizontalPodAutoscaler\/registry/);
    });
    it("tells an in-memory service to move to Redis first", async () => {
        const objs = goodObjects();
        const d = find(objs, "Deployment/controller");
        d.spec.replicas = 1;
        container(d, "controller").env = [];
        assert.match(messages(await runStack(minReplicas, objs)), /in-memory storage \(A8_DATABASE_TYPE unset.*A8_DATABASE_TYPE=redis/);
    });
});

describe("ha-no-replicated-memory-store", () => {
    it("passes Redis-backed replicas and a single in-memory replica", async () => {
        assert.deepStrictEqual(await runStack(noReplicatedMemoryStore, goodObjects()), []);
        const objs = goodObjects();
        const d = find(objs, "Deployment/registry");
        d.spec.replicas = 1;
        container(d, "registry").env = [{ name: "A8_STORE", value: "inmem" }];
        assert.deepStrictEqual(await runStack(noReplicatedMemoryStore, objs), []);
    });
    it("flags several replicas with unset or memory storage", async () => {
        const objs = goodObjects();
        container(find(objs, "Deployment/controller"), "controller").env = [{ name: "A8_DATABASE_TYPE", value: "memory" }];
        container(find(objs, "Deployment/registry"), "registry").env = [];
        const f = await runStack(noReplicatedMemoryStore, objs);
        assert.deepStrictEqual(refs(f).sort(), ["Deployment/controller", "Deployment/registry"]);
        assert.match(messages(f), /A8_STORE unset \(defaults to inmem\)/);
        assert.match(messages(f), /Set A8_DATABASE_TYPE=redis/);
    });
    it("counts an HPA's maxReplicas and reads the flag form", async () => {
        const objs = goodObjects();
        const d = find(objs, "Deployment/controller");
        d.spec.replicas = 1;
        container(d, "controller").env = [];
        container(d, "controller").args = ["--database_type", "memory"];
        assert.deepStrictEqual(refs(await runStack(noReplicatedMemoryStore, [...objs, hpa("controller", 1, 3)])), [
            "Deployment/controller",
        ]);
    });
});

describe("ha-pdb-required", () => {
    it("passes when each multi-replica workload has exactly one PDB", async () => {
        assert.deepStrictEqual(await runStack(pdbRequired, goodObjects()), []);
    });
    it("flags a missing PDB with the labels to select", async () => {
        const f = await runStack(pdbRequired, without(goodObjects(), "PodDisruptionBudget/controller"));
        assert.deepStrictEqual(refs(f), ["Deployment/controller"]);
        assert.match(messages(f), /matchLabels \{app\.kubernetes\.io\/name: controller/);
    });
    it("does not accept a PDB that shares only one label, or lives in another namespace", async () => {
        const objs = goodObjects();
        find(objs, "PodDisruptionBudget/controller").spec.selector = {
            matchLabels: { "app.kubernetes.io/instance": "a8", "app.kubernetes.io/name": "controller", tier: "x" },
        };
        assert.deepStrictEqual(refs(await runStack(pdbRequired, objs)), ["Deployment/controller"]);
        const other = goodObjects();
        find(other, "PodDisruptionBudget/registry").metadata.namespace = "elsewhere";
        assert.deepStrictEqual(refs(await runStack(pdbRequired, other)), ["Deployment/registry"]);
    });
    it("flags overlapping PDBs", async () => {
        const objs = goodObjects();
        objs.push({
            apiVersion: "policy/v1",
            kind: "PodDisruptionBudget",
            metadata: { name: "everything", namespace: "amalgam8" },
            spec: {
                maxUnavailable: 1,
                selector: { matchExpressions: [{ key: "app.kubernetes.io/instance", operator: "In", values: ["a8"] }] },
            },
        });
        const f = await runStack(pdbRequired, objs);
        assert.strictEqual(f.length, 4);
        assert.match(messages(f), /matched by 2 PodDisruptionBudgets/);
    });
    it("skips single-replica workloads", async () => {
        const objs = without(goodObjects(), "PodDisruptionBudget/controller");
        find(objs, "Deployment/controller").spec.replicas = 1;
        assert.deepStrictEqual(await runStack(pdbRequired, objs), []);
    });
});

describe("ha-pdb-allows-disruption", () => {
    it("passes maxUnavailable: 1 and a minAvailable below the replicas", async () => {
        const objs = goodObjects();
        const pdb = find(objs, "PodDisruptionBudget/registry");
        delete pdb.spec.maxUnavailable;
        pdb.spec.minAvailable = "50%";
        assert.deepStrictEqual(await runStack(pdbAllowsDisruption, objs), []);
    });
    it("flags maxUnavailable 0 and minAvailable equal to the replicas", async () => {
        const objs = goodObjects();
        find(objs, "PodDisruptionBudget/controller").spec.maxUnavailable = 0;
        const pdb = find(objs, "PodDisruptionBudget/registry");
        delete pdb.spec.maxUnavailable;
        pdb.spec.minAvailable = 3;
        const f = await runStack(pdbAllowsDisruption, objs);
        assert.deepStrictEqual(refs(f).sort(), ["PodDisruptionBudget/controller", "PodDisruptionBudget/registry"]);
        assert.match(messages(f), /allows no eviction of Deployment\/registry/);
    });
    it("flags minAvailable 100% and a PDB with both or neither field", async () => {
        const objs = goodObjects();
        const a = find(objs, "PodDisruptionBudget/controller");
        delete a.spec.maxUnavailable;
        a.spec.minAvailable = "100%";
        find(objs, "PodDisruptionBudget/registry").spec.minAvailable = 1;
        delete find(objs, "PodDisruptionBudget/redis").spec.maxUnavailable;
        const f = await runStack(pdbAllowsDisruption, objs);
        assert.deepStrictEqual(refs(f).sort(), [
            "PodDisruptionBudget/controller",
            "PodDisruptionBudget/redis",
            "PodDisruptionBudget/registry",
        ]);
        assert.match(messages(f), /both minAvailable and maxUnavailable/);
        assert.match(messages(f), /neither minAvailable nor maxUnavailable/);
    });
    it("uses the HPA's minReplicas as the workload size", async () => {
        const objs = goodObjects();
        delete find(objs, "Deployment/registry").spec.replicas;
        const pdb = find(objs, "PodDisruptionBudget/registry");
        delete pdb.spec.maxUnavailable;
        pdb.spec.minAvailable = 2;
        assert.deepStrictEqual(refs(await runStack(pdbAllowsDisruption, [...objs, hpa("registry", 2, 5)])), [
            "PodDisruptionBudget/registry",
        ]);
        assert.deepStrictEqual(await runStack(pdbAllowsDisruption, [...objs, hpa("registry", 3, 5)]), []);
    });
});

describe("ha-spread-replicas", () => {
    it("passes preferred anti-affinity, a spread constraint, and required anti-affinity for Redis", async () => {
        assert.deepStrictEqual(await runStack(spreadReplicas, goodObjects()), []);
    });
    it("flags a workload with no spread at all", async () => {
        const objs = goodObjects();
        delete podSpec(find(objs, "Deployment/controller")).affinity;
        const f = await runStack(spreadReplicas, objs);
        assert.deepStrictEqual(refs(f), ["Deployment/controller"]);
        assert.match(messages(f), /topologyKey kubernetes\.io\/hostname/);
    });
    it("flags an anti-affinity term whose selector misses the pod's own labels", async () => {
        const objs = goodObjects();
        podSpec(
            find(objs, "Deployment/registry"),
        ).affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm.labelSelector = {
            matchLabels: { "app.kubernetes.io/name": "controller" },
        };
        assert.match(
            messages(await runStack(spreadReplicas, objs)),
            /Deployment\/registry: preferred podAntiAffinity .* does not match the pod's own labels/,
        );
    });
    it("flags zone-only spread by default and accepts it when configured", async () => {
        const objs = goodObjects();
        const term = podSpec(find(objs, "Deployment/controller")).affinity.podAntiAffinity
            .preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm;
        term.topologyKey = "topology.kubernetes.io/zone";
        assert.deepStrictEqual(refs(await runStack(spreadReplicas, objs)), ["Deployment/controller"]);
        assert.deepStrictEqual(
            await runStack(spreadReplicas, objs, {
                topologyKeys: ["kubernetes.io/hostname", "topology.kubernetes.io/zone"],
                requireHardForRedis: true,
            }),
            [],
        );
    });
    it("requires the hard form for Redis data nodes", async () => {
        const objs = goodObjects();
        const anti = podSpec(find(objs, "StatefulSet/redis")).affinity.podAntiAffinity;
        anti.preferredDuringSchedulingIgnoredDuringExecution = [
            { weight: 100, podAffinityTerm: anti.requiredDuringSchedulingIgnoredDuringExecution[0] },
        ];
        delete anti.requiredDuringSchedulingIgnoredDuringExecution;
        const f = await runStack(spreadReplicas, objs);
        assert.deepStrictEqual(refs(f), ["StatefulSet/redis"]);
        assert.match(messages(f), /only prefers to spread/);
        assert.deepStrictEqual(await runStack(spreadReplicas, objs, { requireHardForRedis: false }), []);
    });
    it("flags malformed topology spread constraints", async () => {
        const objs = goodObjects();
        const tsc = podSpec(find(objs, "Deployment/redis-haproxy")).topologySpreadConstraints[0];
        tsc.minDomains = 2; // only valid with DoNotSchedule
        assert.match(messages(await runStack(spreadReplicas, objs)), /minDomains, which only works with whenUnsatisfiable: DoNotSchedule/);
        tsc.maxSkew = 0;
        assert.match(messages(await runStack(spreadReplicas, objs)), /maxSkew >= 1/);
    });
});

describe("ha-rolling-update", () => {
    it("passes RollingUpdate with spare capacity", async () => {
        assert.deepStrictEqual(await runStack(rollingUpdate, goodObjects()), []);
    });
    it("flags Recreate", async () => {
        const objs = goodObjects();
        find(objs, "Deployment/controller").spec.strategy = { type: "Recreate" };
        const f = await runStack(rollingUpdate, objs);
        assert.deepStrictEqual(refs(f), ["Deployment/controller"]);
        assert.match(messages(f), /RollingUpdate with maxUnavailable: 0/);
    });
    it("flags maxUnavailable that reaches the replica count", async () => {
        const objs = goodObjects();
        find(objs, "Deployment/registry").spec.strategy.rollingUpdate = { maxUnavailable: "100%", maxSurge: 1 };
        find(objs, "Deployment/controller").spec.strategy.rollingUpdate = { maxUnavailable: 3 };
        assert.deepStrictEqual(refs(await runStack(rollingUpdate, objs)).sort(), ["Deployment/controller", "Deployment/registry"]);
    });
});

describe("ha-rolling-update-surge (advisory)", () => {
    it("passes maxUnavailable 0 (and the 25% default that rounds down to 0 for 3 replicas)", async () => {
        const objs = goodObjects();
        delete find(objs, "Deployment/registry").spec.strategy;
        assert.deepStrictEqual(await runStack(rollingUpdateSurge, objs), []);
    });
    it("suggests maxUnavailable 0 when a rollout may drop a pod", async () => {
        const objs = goodObjects();
        find(objs, "Deployment/registry").spec.strategy.rollingUpdate = { maxUnavailable: 1, maxSurge: 1 };
        assert.deepStrictEqual(refs(await runStack(rollingUpdateSurge, objs)), ["Deployment/registry"]);
    });
});

describe("ha-hpa-consistency", () => {
    it("passes a well-formed HPA whose target leaves replicas unset", async () => {
        const objs = goodObjects();
        delete find(objs, "Deployment/registry").spec.replicas;
        assert.deepStrictEqual(await runStack(hpaConsistency, [...objs, hpa("registry", 3, 10)]), []);
        assert.deepStrictEqual(await runStack(hpaConsistency, goodObjects()), []);
    });
    it("judges a running stack's live target by who set spec.replicas (a PR's preview of a deployed stack)", async () => {
        const applied = (owned: object) => ({ manager: "pulumi-kubernetes-1a2b", operation: "Apply", fieldsV1: { "f:spec": owned } });
        const scaled = {
            manager: "kube-controller-manager",
            operation: "Update",
            subresource: "scale",
            fieldsV1: { "f:spec": { "f:replicas": {} } },
        };
        // What a stack policy gets for an unchanged resource: the live object, the HPA's scale written in.
        const live = (managedFields: object[]) => {
            const objs = goodObjects();
            const d = find(objs, "Deployment/registry");
            d.spec.replicas = 3;
            d.metadata = { ...d.metadata, uid: "0b5c", managedFields } as typeof d.metadata;
            return [...objs, hpa("registry", 3, 10)];
        };
        assert.deepStrictEqual(await runStack(hpaConsistency, live([applied({ "f:template": {} }), scaled])), []);
        // The program itself applied spec.replicas: every update resets the scale.
        assert.deepStrictEqual(refs(await runStack(hpaConsistency, live([applied({ "f:replicas": {} }), scaled]))), [
            "Deployment/registry",
        ]);
    });
    it("judges an HPA whose target is not in the input on its own", async () => {
        assert.deepStrictEqual(await runStack(hpaConsistency, [hpa("elsewhere", 3, 5)]), []);
        const f = await runStack(hpaConsistency, [hpa("elsewhere", 1, 1)]);
        assert.deepStrictEqual(
            f.map((x) => x.message),
            [
                "HorizontalPodAutoscaler/elsewhere lets Deployment/elsewhere scale down to 1 pod: set minReplicas to at least 2.",
                "HorizontalPodAutoscaler/elsewhere has maxReplicas 1 not above minReplicas 1: it can never scale; raise maxReplicas or " +
                    "drop the HPA.",
            ],
        );
    });
    it("names the stack keys for an HPA rendered from a stack", async () => {
        const h = hpa("registry", 1, 1);
        h.metadata = { ...h.metadata, labels: { "app.kubernetes.io/name": "registry" } } as typeof h.metadata;
        const text = messages(
            await runStack(hpaConsistency, [h], {}, (o) => programUrn(o, "amalgam8:index:ControlPlane", "amalgam8:index:ApiService")),
        );
        assert.match(text, /set minReplicas to at least 2 \(stack key a8-control-plane:registry\.autoscaling\.minReplicas\)/);
        assert.match(text, /raise maxReplicas \(stack key a8-control-plane:registry\.autoscaling\.maxReplicas\)/);
    });
    it("flags a low minimum, max <= min, and a target that sets replicas", async () => {
        const objs = goodObjects();
        const f = await runStack(hpaConsistency, [...objs, hpa("registry", 1, 1)]);
        const text = messages(f);
        assert.match(text, /scale down to 1 pod:/);
        assert.match(text, /maxReplicas 1 not above minReplicas 1/);
        assert.match(text, /Deployment\/registry sets spec\.replicas while HorizontalPodAutoscaler\/registry scales it/);
    });
});

describe("HA rules on the upstream seed", () => {
    it("flag the missing PDBs and spreading of the 3-replica ReplicationControllers", async () => {
        assert.deepStrictEqual(refs(await runStack(pdbRequired, seedObjects())).sort(), [
            "ReplicationController/controller",
            "ReplicationController/registry",
        ]);
        assert.deepStrictEqual(refs(await runStack(spreadReplicas, seedObjects())).sort(), [
            "ReplicationController/controller",
            "ReplicationController/registry",
        ]);
    });
});
