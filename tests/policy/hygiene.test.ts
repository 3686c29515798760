import * as assert from "assert";
import { namespaced, recommendedLabels, stableApi } from "../../policy/policies/hygiene";
import { find, goodObjects, messages, runResource, seedObjects } from "./helpers";

describe("hyg-recommended-labels (advisory)", () => {
    it("passes objects and pod templates with the recommended labels", async () => {
        for (const o of goodObjects()) {
            const r = await runResource(recommendedLabels, o);
            assert.ok(r === "not-applicable" || r.length === 0, `${o.kind}/${o.metadata.name}: ${messages(r)}`);
        }
    });
    it("flags missing labels on the object and on its pod template", async () => {
        const r = messages(await runResource(recommendedLabels, find(seedObjects(), "ReplicationController/controller")));
        assert.match(r, /ReplicationController\/controller lacks the labels app\.kubernetes\.io\/name/);
        assert.match(r, /pod template lacks the labels app\.kubernetes\.io\/name/);
        const d = find(goodObjects(), "Deployment/registry");
        delete d.spec.template.metadata.labels["app.kubernetes.io/component"];
        assert.match(
            messages(await runResource(recommendedLabels, d)),
            /^Deployment\/registry pod template lacks the labels app\.kubernetes\.io\/component:/,
        );
    });
    it("is not applicable to kinds without workload or wiring meaning", async () => {
        assert.strictEqual(await runResource(recommendedLabels, find(goodObjects(), "Namespace/amalgam8")), "not-applicable");
    });
});

describe("hyg-stable-api (advisory)", () => {
    it("passes stable versions", async () => {
        for (const o of goodObjects()) assert.deepStrictEqual(await runResource(stableApi, o), []);
    });
    it("flags alpha and beta versions", async () => {
        const pdb = find(goodObjects(), "PodDisruptionBudget/controller");
        pdb.apiVersion = "policy/v1beta1";
        assert.match(messages(await runResource(stableApi, pdb)), /uses policy\/v1beta1/);
        pdb.apiVersion = "policy/v2alpha1";
        assert.match(messages(await runResource(stableApi, pdb)), /v2alpha1/);
    });
});

describe("hyg-namespace (advisory)", () => {
    it("passes an explicit namespace and cluster-scoped kinds", async () => {
        for (const o of goodObjects()) assert.deepStrictEqual(await runResource(namespaced, o), []);
    });
    it("flags the default namespace and an unset one", async () => {
        assert.match(messages(await runResource(namespaced, find(seedObjects(), "Service/redis"))), /sets no namespace/);
        const s = find(goodObjects(), "Service/redis");
        s.metadata.namespace = "default";
        assert.match(messages(await runResource(namespaced, s)), /is in the default namespace/);
    });
});
