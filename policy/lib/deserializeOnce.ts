/**
 * @pulumi/policy deserializes a resource's properties once per policy: every resource policy of an
 * Analyze call and every stack policy of an AnalyzeStack call converts the same protobuf Struct
 * again, which is most of the pack's time on large inputs. Its server calls `deserializeProperties`
 * through the module's exports at each use, so replacing that export with one that remembers its
 * result per Struct object (the request's own, dropped with it) lets the policies of one call share
 * one copy. Rules only read their inputs (the stack model was already shared by all stack rules),
 * and each policy still gets its own unknown-checking proxy, so what a policy sees and reports is
 * unchanged. The secrets-preserving form (`proxySecrets`, remediation only) is not shared.
 */
const deserializeModule: { deserializeProperties?: Deserialize } = require("@pulumi/policy/deserialize");

type Deserialize = ((struct: object, proxySecrets: boolean) => Record<string, unknown>) & { readonly shared?: true };

/** Every result handed out by a shared deserializer: the same object stands for the same content. */
const sharedResults = new WeakSet<object>();

export function isSharedResult(props: unknown): boolean {
    return typeof props === "object" && props !== null && sharedResults.has(props);
}

/** `deserialize` with one result per Struct object for the plain (non-secret) form. */
export function sharedDeserialize(deserialize: Deserialize): Deserialize {
    if (deserialize.shared) return deserialize;
    const seen = new WeakMap<object, Record<string, unknown>>();
    const shared = (struct: object, proxySecrets: boolean): Record<string, unknown> => {
        if (proxySecrets || struct === null || typeof struct !== "object") return deserialize(struct, proxySecrets);
        let props = seen.get(struct);
        if (!props) {
            props = deserialize(struct, false);
            seen.set(struct, props);
            sharedResults.add(props);
        }
        return props;
    };
    return Object.assign(shared, { shared: true as const });
}

/**
 * The @pulumi/policy releases whose server was read for this (it calls the export at each use, and
 * hands each policy its own proxy of the result): another release runs the pack unpatched.
 */
export const VERIFIED_POLICY_SDK = /^v?1\.21\./;
/** `A8_POLICY_SPEED_PATCHES=off` runs the pack unpatched: the same verdicts, only slower. */
export const SPEED_PATCHES_ENV = "A8_POLICY_SPEED_PATCHES";

export function speedPatchesApply(sdkVersion: string | undefined, setting: string | undefined): boolean {
    return setting !== "off" && typeof sdkVersion === "string" && VERIFIED_POLICY_SDK.test(sdkVersion);
}

/** Whether this process runs the pack's speed patches (this one and the stack model's cache in policy.ts). */
export const SPEED_PATCHES: boolean = speedPatchesApply(require("@pulumi/policy/package.json").version, process.env[SPEED_PATCHES_ENV]);

/** Installs it where it was verified and asked for; anywhere else the pack runs as before, only slower. */
export function shareDeserializedInputs(): boolean {
    if (!SPEED_PATCHES || typeof deserializeModule.deserializeProperties !== "function") return false;
    deserializeModule.deserializeProperties = sharedDeserialize(deserializeModule.deserializeProperties);
    return true;
}
