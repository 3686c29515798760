import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { SecretKeyRef } from "../amalgam8";

/** An Opaque Secret holding one value at the key that pods reference. */
export function singleValueSecret(
    ref: SecretKeyRef,
    namespace: string,
    labels: Record<string, string>,
    value: pulumi.Input<string>,
): k8s.core.v1.SecretArgs {
    return { metadata: { name: ref.name, namespace, labels }, type: "Opaque", stringData: { [ref.key]: value } };
}
