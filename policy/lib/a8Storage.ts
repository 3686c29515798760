/**
 * Where the Amalgam8 services keep their state: the storage type, address and password each one
 * is given, through env (literal, ConfigMap, Secret) or command-line flags.
 */
import { A8Role, A8_STORAGE, a8Container, flagValue } from "./amalgam8";
import { Container } from "./k8s";
import type { EnvValue, StackModel, Workload } from "./model";

export interface A8StorageView {
    workload: Workload;
    role: A8Role;
    container: Container;
    /** Lower-cased storage type; undefined when it comes from somewhere the stack cannot show. */
    type?: string;
    /** How the type was set, for messages: `A8_STORE unset`, `A8_STORE=redis`, `--store redis`. */
    typeText: string;
    memory: boolean;
    address?: EnvValue;
    password?: EnvValue;
}

function envOrFlag(c: Container, env: Map<string, EnvValue>, name: string): EnvValue | undefined {
    const flag = flagValue(c, name);
    if (flag !== undefined) {
        return { source: "literal", value: flag };
    }
    return env.get(name);
}

export function a8Storage(model: StackModel, w: Workload): A8StorageView | undefined {
    if (!w.a8Role) {
        return undefined;
    }
    const s = A8_STORAGE[w.a8Role];
    const c = a8Container(w.pod, w.a8Role);
    if (!c) {
        return undefined;
    }
    const env = model.resolveEnv(w, c);
    const t = envOrFlag(c, env, s.typeVar);
    let type: string | undefined;
    let typeText: string;
    if (t === undefined) {
        type = s.defaultType;
        typeText = `${s.typeVar} unset (defaults to ${s.defaultType})`;
    } else if (t.source === "literal" || (t.source === "configMap" && t.value !== undefined)) {
        type = (t.value ?? "").trim().toLowerCase() || s.defaultType;
        typeText = `${s.typeVar}=${t.value}`;
    } else {
        typeText = `${s.typeVar} from ${t.source}`;
    }
    // The services accept only their own spelling, but either spelling means "not shared".
    const memory = type === "memory" || type === "inmem";
    return {
        workload: w,
        role: w.a8Role,
        container: c,
        type,
        typeText,
        memory,
        address: envOrFlag(c, env, s.addressVar),
        password: envOrFlag(c, env, s.passwordVar),
    };
}

export function a8Storages(model: StackModel): A8StorageView[] {
    return model.cached("a8Storages", () => computeA8Storages(model));
}

function computeA8Storages(model: StackModel): A8StorageView[] {
    return model.workloads.map((w) => a8Storage(model, w)).filter((v): v is A8StorageView => v !== undefined);
}
