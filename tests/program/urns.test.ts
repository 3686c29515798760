/**
 * Resource identities. A resource whose URN changes is deleted and re-created by `pulumi up`: for
 * a StatefulSet that means new, empty Redis volumes. So every stack's URNs are pinned, and every
 * URN of the released version must still be a resource's URN or one of its aliases.
 *
 * After an intended change (a resource added, removed or renamed, with aliases where it must keep
 * its identity): `UPDATE_PINS=1 npx mocha tests/program/urns.test.ts` rewrites resource-urns.json.
 * At a release, resource-urns.json becomes released-urns.json.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { asK8sObject } from "../../policy/lib/k8s";
import { STACK_KEY_SOURCES, StackField, stackKeyOf } from "../../policy/lib/stackKeys";
import { RecordedResource, runProgram } from "../../cli/program/runProgram";
import { REPO_ROOT } from "../../cli/repoRoot";
import { loadStackConfig, shippedStacks } from "../../cli/program/stackConfig";
import { EngineIdentity, engineIdentities } from "../../cli/program/engineUrns";
import { UrnPins, currentUrns, releasedUrnProblems, urnChanges } from "./urns";

const PINS_FILE = path.join(__dirname, "resource-urns.json");
const RELEASED_FILE = path.join(__dirname, "released-urns.json");
const updating = process.env.UPDATE_PINS === "1";

function readPins(file: string): UrnPins {
    return JSON.parse(fs.readFileSync(file, "utf8")) as UrnPins;
}

/** The pin as a person reads it in a failure: one URN per line. */
function listed(title: string, urns: string[]): string {
    return urns.length === 0 ? "" : `\n${title}:\n  ${urns.join("\n  ")}`;
}

describe("resource identities: what `pulumi up` keeps, moves and replaces", function () {
    this.timeout(120_000);
    /** Shipped stacks only: a user's own stack file has no pin and must not fail these tests. */
    const stacks = shippedStacks(REPO_ROOT);
    const runs: Record<string, RecordedResource[]> = {};
    const identities: Record<string, Map<string, EngineIdentity>> = {};

    before(async () => {
        for (const stack of stacks) {
            runs[stack] = (await runProgram(loadStackConfig(REPO_ROOT, stack))).resources;
            identities[stack] = engineIdentities(runs[stack]);
        }
        if (updating) {
            const pins = Object.fromEntries(stacks.map((s) => [s, currentUrns(identities[s])]));
            fs.writeFileSync(PINS_FILE, `${JSON.stringify(pins, null, 4)}\n`);
            console.log(`    UPDATE_PINS=1: wrote ${path.relative(REPO_ROOT, PINS_FILE)} (${stacks.join(", ")})`);
        }
    });

    it("pins every shipped stack file, and no stack that has none", () => {
        assert.deepEqual(
            Object.keys(readPins(PINS_FILE)).sort(),
            [...stacks].sort(),
            `rerun with UPDATE_PINS=1 after adding or removing a stack file`,
        );
    });

    for (const stack of stacks) {
        it(`${stack}: registers exactly the pinned resources (URN: parent types, type, name)`, () => {
            const pinned = readPins(PINS_FILE)[stack] ?? [];
            const { added, removed } = urnChanges(pinned, currentUrns(identities[stack]));
            assert.ok(
                added.length === 0 && removed.length === 0,
                `${stack}: the resources differ from ${path.basename(PINS_FILE)}` +
                    listed("added", added) +
                    listed("gone (without an alias pulumi up deletes them)", removed) +
                    "\nIf intended (and old URNs that must survive are aliases), rerun with UPDATE_PINS=1.",
            );
        });
    }

    for (const stack of Object.keys(readPins(RELEASED_FILE))) {
        it(`${stack}: every resource of the released version is still there, under its URN or an alias`, () => {
            assert.ok(identities[stack], `${stack} was released but has no stack file any more`);
            const { unclaimed, ambiguous } = releasedUrnProblems(readPins(RELEASED_FILE)[stack], identities[stack]);
            assert.deepEqual(unclaimed, [], `${stack}: pulumi up would delete and re-create these:${listed("released URNs", unclaimed)}`);
            assert.deepEqual(ambiguous, [], `${stack}: more than one resource claims these:${listed("released URNs", ambiguous)}`);
        });
    }

    it("the released pin is in the engine's form: every URN names its whole chain of parent types", () => {
        for (const [stack, urns] of Object.entries(readPins(RELEASED_FILE))) {
            for (const urn of urns) {
                const chain = urn.split("::")[2].split("$");
                assert.ok(urn.startsWith(`urn:pulumi:${stack}::a8-control-plane::`), urn);
                assert.ok(chain.length === 1 || chain[0] === "amalgam8:index:ControlPlane", `${urn}: not under the ControlPlane`);
            }
        }
    });

    it("the policy pack finds the stack key behind each object it maps, from the object's URN", () => {
        const checked = new Set<string>();
        for (const stack of stacks) {
            for (const r of runs[stack]) {
                const object = asK8sObject(r.type, r.inputs);
                const name = object?.metadata?.labels?.["app.kubernetes.io/name"];
                const source = STACK_KEY_SOURCES.find((s) => s.kind === object?.kind && s.name === name);
                if (!object || !source) continue;
                const urn = identities[stack].get(r.urn)!.urn;
                for (const [field, key] of Object.entries(source.keys)) {
                    assert.equal(stackKeyOf(urn, object, field as StackField), `a8-control-plane:${key}`, `${stack} ${urn} ${field}`);
                }
                checked.add(`${object.kind}/${name}`);
            }
        }
        for (const ref of ["Deployment/redis-haproxy", "StatefulSet/redis-node", "StatefulSet/redis", "HorizontalPodAutoscaler/registry"]) {
            assert.ok(checked.has(ref), `no stack renders ${ref}`);
        }
    });

    it("a moved resource without its alias is caught: the released StatefulSet would be replaced", () => {
        const released = readPins(RELEASED_FILE).prod;
        const oldStatefulSet = released.find((u) => u.includes("$kubernetes:apps/v1:StatefulSet::"));
        assert.ok(oldStatefulSet, "the released prod stack has a StatefulSet");
        assert.deepEqual(releasedUrnProblems(released, identities.prod).unclaimed, []);
        // The same run, minus the aliases the program gave the StatefulSet (the provider's own stay).
        const withoutAlias = runs.prod.map((r) =>
            r.type === "kubernetes:apps/v1:StatefulSet" ? { ...r, aliases: r.aliases.filter((a) => a.name === undefined) } : r,
        );
        assert.deepEqual(releasedUrnProblems(released, engineIdentities(withoutAlias)).unclaimed, [oldStatefulSet]);
    });
});

describe("engine URNs from a mock-monitor run (pure)", () => {
    const p = "urn:pulumi:s::proj::";
    const resource = (
        urn: string,
        type: string,
        name: string,
        parent?: string,
        aliases: RecordedResource["aliases"] = [],
    ): RecordedResource => ({
        urn,
        type,
        name,
        custom: !type.startsWith("x:"),
        inputs: {},
        aliases,
        ...(parent ? { parent } : {}),
    });
    // As the mock monitor records them: only the nearest parent type in each URN.
    const root = resource(`${p}x:index:Root::r`, "x:index:Root", "r");
    const mid = resource(`${p}x:index:Root$x:index:Mid::r-mid`, "x:index:Mid", "r-mid", root.urn);
    const leaf = resource(`${p}x:index:Mid$k:core:Thing::r-mid-thing`, "k:core:Thing", "r-mid-thing", mid.urn, [
        { name: "r-thing", parent: root.urn },
        { type: "k:old:Thing", parent: mid.urn },
        { urn: `${p}k:core:Thing::legacy` },
    ]);

    it("puts the whole chain of parent types into each URN", () => {
        const ids = engineIdentities([leaf, mid, root]);
        assert.equal(ids.get(root.urn)!.urn, `${p}x:index:Root::r`);
        assert.equal(ids.get(mid.urn)!.urn, `${p}x:index:Root$x:index:Mid::r-mid`);
        assert.equal(ids.get(leaf.urn)!.urn, `${p}x:index:Root$x:index:Mid$k:core:Thing::r-mid-thing`);
    });

    it("resolves aliases: fields left out are the resource's own, a parent by its engine URN", () => {
        assert.deepEqual(engineIdentities([root, mid, leaf]).get(leaf.urn)!.aliases, [
            `${p}x:index:Root$k:core:Thing::r-thing`,
            `${p}x:index:Root$x:index:Mid$k:old:Thing::r-mid-thing`,
            `${p}k:core:Thing::legacy`,
        ]);
    });

    it("lets a child answer to its name under each old URN of its parent, as the engine does", () => {
        const movedMid = { ...mid, aliases: [{ name: "old-mid", noParent: true }] };
        const child = resource(`${p}x:index:Mid$k:core:Thing::c`, "k:core:Thing", "c", mid.urn);
        const ids = engineIdentities([root, movedMid, child]);
        assert.deepEqual(ids.get(mid.urn)!.aliases, [`${p}x:index:Mid::old-mid`]);
        assert.deepEqual(ids.get(child.urn)!.aliases, [`${p}x:index:Mid$k:core:Thing::c`]);
    });

    it("reports released URNs nobody claims and those claimed twice", () => {
        const ids = engineIdentities([root, mid, leaf]);
        const released = [`${p}x:index:Root::r`, `${p}x:index:Root$k:core:Thing::r-thing`, `${p}x:index:Root$k:core:Thing::gone`];
        assert.deepEqual(releasedUrnProblems(released, ids), { unclaimed: [`${p}x:index:Root$k:core:Thing::gone`], ambiguous: [] });
        const twice = resource(`${p}x:index:Root$k:core:Thing::other`, "k:core:Thing", "other", root.urn, [{ name: "r-thing" }]);
        assert.deepEqual(releasedUrnProblems(released, engineIdentities([root, mid, leaf, twice])).ambiguous, [
            `${p}x:index:Root$k:core:Thing::r-thing`,
        ]);
    });

    it("refuses a parent that was never registered", () => {
        assert.throws(() => engineIdentities([mid]), /refers to urn:pulumi:s::proj::x:index:Root::r, which was never registered/);
    });

    it("lists what was added and what is gone", () => {
        assert.deepEqual(urnChanges(["a", "b"], ["b", "c"]), { added: ["c"], removed: ["a"] });
    });
});
