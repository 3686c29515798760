/**
 * Drives policy modules directly, building the CrossGuard argument bags by hand (never a
 * PolicyPack in a test process: it would start a gRPC server).
 */
import * as path from "path";
import {
    PolicyResource,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
} from "@pulumi/policy";
import { K8sObject, refOf, typeToken } from "../../policy/lib/k8s";
import { loadManifests } from "../../cli/check/resources";

export const FIXTURES = path.join(__dirname, "..", "fixtures");
export const GOOD_DIR = path.join(FIXTURES, "manifests", "good");
export const SEED = path.join(FIXTURES, "seed-controlplane.yaml");

class NotApplicable extends Error {}

/** The options the CLI sends for a resource without any. */
const RESOURCE_OPTIONS = {
    protect: false,
    ignoreChanges: [],
    aliases: [],
    customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
    additionalSecretOutputs: [],
};

export interface Finding {
    message: string;
    /** `Kind/name` of the object the finding names, if any. */
    ref?: string;
}

export type Outcome = Finding[] | "not-applicable";

function urnOf(obj: K8sObject): string {
    const type = typeToken(String(obj.apiVersion), String(obj.kind));
    const ns = obj.metadata?.namespace ? `${obj.metadata.namespace}/` : "";
    return `urn:pulumi:test::a8-control-plane::${type}::${ns}${obj.metadata?.name}`;
}

function common(config: object) {
    return {
        stackTags: new Map<string, string>() as ReadonlyMap<string, string>,
        getConfig: <T extends object>() => config as T,
        notApplicable: (reason?: string): never => {
            throw new NotApplicable(reason);
        },
    };
}

/** Runs a resource policy on one object (type token derived from apiVersion/kind). */
export async function runResource(policy: ResourceValidationPolicy, obj: K8sObject, config: object = {}, urn?: string): Promise<Outcome> {
    return runResourceTyped(policy, typeToken(String(obj.apiVersion), String(obj.kind)), obj, config, urn);
}

/** The URN the program gives an object rendered under `components` (outermost first), as the CLI shows it. */
export function programUrn(obj: K8sObject, ...components: string[]): string {
    const type = typeToken(String(obj.apiVersion), String(obj.kind));
    return `urn:pulumi:prod::a8-control-plane::${[...components, type].join("$")}::a8-${obj.metadata?.name}`;
}

export async function runResourceTyped(
    policy: ResourceValidationPolicy,
    type: string,
    props: Record<string, any>,
    config: object = {},
    urn = `urn:pulumi:test::a8-control-plane::${type}::x`,
): Promise<Outcome> {
    const findings: Finding[] = [];
    const args: ResourceValidationArgs = {
        type,
        props,
        urn,
        name: "x",
        opts: RESOURCE_OPTIONS,
        isType: () => false,
        asType: () => undefined,
        ...common(config),
    };
    const validations = Array.isArray(policy.validateResource)
        ? policy.validateResource
        : policy.validateResource
          ? [policy.validateResource]
          : [];
    try {
        for (const v of validations) {
            await v(args, (message: string) =>
                findings.push({ message, ref: props.metadata?.name ? refOf({ kind: props.kind, ...props }) : undefined }),
            );
        }
    } catch (e) {
        if (e instanceof NotApplicable) return "not-applicable";
        throw e;
    }
    return findings;
}

/**
 * Runs a stack policy on a set of objects. `urnFor` gives an object the URN a program would (e.g.
 * under a component); default: a top-level one.
 */
export async function runStack(
    policy: StackValidationPolicy,
    objects: K8sObject[],
    config: object = {},
    urnFor: (obj: K8sObject) => string | undefined = () => undefined,
): Promise<Finding[]> {
    const findings: Finding[] = [];
    const byUrn = new Map<string, K8sObject>();
    const resources: PolicyResource[] = objects.map((obj) => {
        const urn = urnFor(obj) ?? urnOf(obj);
        byUrn.set(urn, obj);
        return {
            type: typeToken(String(obj.apiVersion), String(obj.kind)),
            props: obj,
            urn,
            name: String(obj.metadata?.name),
            opts: RESOURCE_OPTIONS,
            dependencies: [],
            propertyDependencies: {},
            isType: () => false,
            asType: () => undefined,
        };
    });
    const args: StackValidationArgs = { resources, ...common(config) };
    await policy.validateStack(args, (message: string, urn?: string) => {
        const obj = urn ? byUrn.get(urn) : undefined;
        findings.push({ message, ref: obj ? refOf(obj) : undefined });
    });
    return findings;
}

/** A fresh deep copy of the "good" manifests (every mandatory rule satisfied). */
export function goodObjects(): K8sObject[] {
    return loadManifests(GOOD_DIR).map((r) => JSON.parse(JSON.stringify(r.props)));
}

export function seedObjects(): K8sObject[] {
    return loadManifests(SEED).map((r) => JSON.parse(JSON.stringify(r.props)));
}

/** Controller and registry in memory mode and no Redis objects at all. */
export function memoryOnlyObjects(): K8sObject[] {
    const objs = goodObjects().filter((o) => !/redis/.test(o.metadata.name));
    for (const d of ["controller", "registry"]) {
        const dep = find(objs, `Deployment/${d}`);
        dep.spec.replicas = 1;
        container(dep, d).env = [];
    }
    return objs;
}

/** No Redis in the stack: the controller and the registry use an external one at these addresses. */
export function externalRedisObjects(address: string, registryAddress: string): K8sObject[] {
    const objs = memoryOnlyObjects();
    container(find(objs, "Deployment/controller"), "controller").env = [
        { name: "A8_DATABASE_TYPE", value: "redis" },
        { name: "A8_DATABASE_HOST", value: address },
    ];
    container(find(objs, "Deployment/registry"), "registry").env = [
        { name: "A8_STORE", value: "redis" },
        { name: "A8_STORE_ADDRESS", value: registryAddress },
    ];
    return objs;
}

export function find(objects: K8sObject[], ref: string): K8sObject {
    const o = objects.find((x) => refOf(x) === ref);
    if (!o) throw new Error(`fixture has no ${ref}`);
    return o;
}

export function without(objects: K8sObject[], ...refs: string[]): K8sObject[] {
    return objects.filter((o) => !refs.includes(refOf(o)));
}

export function container(obj: K8sObject, name: string): Record<string, any> {
    const spec = obj.kind === "Pod" ? obj.spec : obj.spec.template.spec;
    const c = [...(spec.initContainers ?? []), ...spec.containers].find((x: any) => x.name === name);
    if (!c) throw new Error(`${refOf(obj)} has no container ${name}`);
    return c;
}

export function podSpec(obj: K8sObject): Record<string, any> {
    return obj.kind === "Pod" ? obj.spec : obj.spec.template.spec;
}

/** Replaces a data key of a ConfigMap (e.g. `redis.conf`) by editing its text. */
export function editConf(objects: K8sObject[], ref: string, key: string, edit: (text: string) => string): void {
    const cm = find(objects, ref);
    cm.data[key] = edit(cm.data[key]);
}

export function refs(findings: Outcome): string[] {
    return findings === "not-applicable" ? [] : findings.map((f) => f.ref ?? "");
}

export function messages(findings: Outcome): string {
    return findings === "not-applicable" ? "not-applicable" : findings.map((f) => f.message).join("\n");
}
