/**
 * The shape of the Pod Security Standard ("restricted") rules: every problem of every container
 * (init containers too) and of the pod spec is its own finding; and the capabilities they forbid.
 */
import { WORKLOAD_KINDS } from "./kinds";
import { Container, K8sObject, allContainersOf, containerName, podTemplateOf, refOf } from "./k8s";
import { RuleAbout, resourceRule } from "./policy";

/** Every problem of one container (empty when it complies), given the pod's securityContext. */
type ContainerCheck = (c: Container, podSecurityContext: Record<string, any>) => string[];

/** Every problem of the pod spec itself. */
type PodCheck = (podSpec: Record<string, any>) => string[];

/** A mandatory rule over the pods of every workload kind; each problem names the fix. */
export function podSecurityRule(name: string, description: string, about: RuleAbout, check: ContainerCheck, podCheck?: PodCheck) {
    return resourceRule({
        name,
        description,
        enforcementLevel: "mandatory",
        ...about,
        kinds: WORKLOAD_KINDS,
        check(obj: K8sObject, _cfg, report) {
            const pod = podTemplateOf(obj);
            if (!pod) {
                return;
            }
            const podSecurityContext = pod.spec.securityContext ?? {};
            for (const c of allContainersOf(pod.spec)) {
                for (const problem of check(c, podSecurityContext)) {
                    report(`${refOf(obj)} container ${containerName(c)} ${problem}.`);
                }
            }
            for (const p of podCheck ? podCheck(pod.spec) : []) {
                report(`${refOf(obj)} ${p}.`);
            }
        },
    });
}

/** Capabilities that give a container power over the node or its network; `ALL` includes them all. */
export const DANGEROUS_CAPABILITIES = new Set([
    "ALL",
    "SYS_ADMIN",
    "NET_ADMIN",
    "NET_RAW",
    "SYS_PTRACE",
    "SYS_MODULE",
    "SYS_RAWIO",
    "SYS_BOOT",
    "SYS_TIME",
    "DAC_READ_SEARCH",
    "BPF",
    "PERFMON",
    "MAC_ADMIN",
    "MAC_OVERRIDE",
]);
