/**
 * Runs the real program (index.ts) under the SDK's mocks with a real stack file, optionally with
 * config overrides, and gives tests the Kubernetes objects it registered.
 */
import { PROJECT } from "../../components/config";
import { InputError } from "../../cli/errors";
import { StackConfig, loadStackConfig } from "../../cli/program/stackConfig";
import { ProgramRun, runProgram } from "../../cli/program/runProgram";
import { REPO_ROOT } from "../../cli/repoRoot";
import { K8sObject } from "../../policy/lib/k8s";
import { kubernetesObjects } from "../../cli/check/resources";

export interface Rendered {
    readonly run: ProgramRun;
    /** Kubernetes objects with apiVersion/kind filled in and secrets unwrapped. */
    readonly objects: K8sObject[];
    /** The object of this kind and name; fails the test when absent. */
    get(kind: string, name: string): K8sObject;
    find(kind: string, name: string): K8sObject | undefined;
    ofKind(kind: string): K8sObject[];
    /** The ConfigMap that a workload's `config` volume mounts; fails the test when absent. */
    mountedConfigMap(workload: K8sObject): K8sObject;
}

export function stackConfig(stack: string, overrides: Record<string, unknown> = {}, secretOverrides: string[] = []): StackConfig {
    const base = loadStackConfig(REPO_ROOT, stack);
    const config = { ...base.config };
    for (const [k, v] of Object.entries(overrides)) {
        const key = `${PROJECT}:${k}`;
        if (v === undefined) delete config[key];
        else config[key] = typeof v === "string" ? v : JSON.stringify(v);
    }
    return { ...base, config, secretKeys: [...base.secretKeys, ...secretOverrides.map((k) => `${PROJECT}:${k}`)] };
}

function rendered(run: ProgramRun): Rendered {
    const objects = kubernetesObjects(run.resources);
    const find = (kind: string, name: string) => objects.find((o) => o.kind === kind && o.metadata?.name === name);
    return {
        run,
        objects,
        find,
        get(kind, name) {
            const o = find(kind, name);
            if (!o) throw new Error(`no ${kind}/${name} among: ${objects.map((x) => `${x.kind}/${x.metadata?.name}`).join(", ")}`);
            return o;
        },
        ofKind: (kind) => objects.filter((o) => o.kind === kind),
        mountedConfigMap(workload) {
            const volume = workload.spec.template.spec.volumes?.find((v: K8sObject) => v.name === "config");
            if (!volume?.configMap) throw new Error(`${workload.kind}/${workload.metadata.name} mounts no config volume`);
            return this.get("ConfigMap", volume.configMap.name);
        },
    };
}

export async function renderStack(config: StackConfig): Promise<Rendered> {
    return rendered(await runProgram(config));
}

/** The message of the InputError the program stops with; fails when it does not stop. */
export async function rejection(config: StackConfig, programPath?: string): Promise<string> {
    try {
        await runProgram(config, programPath);
    } catch (e) {
        if (e instanceof InputError) return e.message;
        throw e;
    }
    throw new Error("expected the program to reject the configuration");
}
