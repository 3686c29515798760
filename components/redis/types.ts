import * as k8s from "@pulumi/kubernetes";
import { SecretKeyRef } from "../amalgam8";
import { RedisSettings } from "../config";

/** What the in-cluster Redis shapes (standalone, ha) receive from the Redis component. */
export interface RedisServerArgs {
    /** Plain: config files name peers by their DNS names. */
    readonly namespace: string;
    readonly instance: string;
    readonly settings: RedisSettings;
    /** The Secret that holds the AUTH password; mounted as a file, never copied into config. */
    readonly passwordSecret: SecretKeyRef;
    /** Pods allowed to connect (the controller and the registry). */
    readonly clientSelector: k8s.types.input.meta.v1.LabelSelector;
    /** Name of the Service the clients use. */
    readonly serviceName: string;
    readonly port: number;
}

/** A set of pods: the Kubernetes name of their objects and the labels that select them. */
export interface PodSet {
    readonly name: string;
    readonly selector: Record<string, string>;
}
