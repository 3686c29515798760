import * as assert from "assert";
import {
    capabilitiesDropAll,
    noHostAccess,
    noPrivilegeEscalation,
    noSecretLiterals,
    readOnlyRootFs,
    runAsNonRoot,
    saTokenAutomount,
    redisAuth,
    redisNetworkPolicy,
    redisNotExposed,
    seccompProfile,
} from "../../policy/policies/security";
import { K8sObject } from "../../policy/lib/k8s";
import { container, editConf, find, goodObjects, messages, podSpec, refs, runResource, runStack, seedObjects, without } from "./helpers";

const WORKLOADS = ["Deployment/controller", "Deployment/registry", "Deployment/redis-haproxy", "StatefulSet/redis"];

async function passesGood(policy: Parameters<typeof runResource>[0]): Promise<void> {
    const objs = goodObjects();
    for (const ref of WORKLOADS) {
        assert.deepStrictEqual(await runResource(policy, find(objs, ref)), [], ref);
    }
}

function redis(): K8sObject {
    return find(goodObjects(), "StatefulSet/redis");
}

describe("sec-no-secret-literals", () => {
    it("passes secretKeyRef values, file paths and non-secret names", async () => {
        await passesGood(noSecretLiterals);
        const d = find(goodObjects(), "Deployment/controller");
        container(d, "controller").env.push(
            { name: "A8_LOG_LEVEL", value: "info" },
            { name: "REDIS_PASSWORD_FILE", value: "/secrets/password" },
        );
        assert.deepStrictEqual(await runResource(noSecretLiterals, d), []);
    });
    it("flags literal passwords, secrets, tokens and keys, init containers included", async () => {
        const s = redis();
        container(s, "config").env = [{ name: "REDIS_PASSWORD", value: "hunter2" }];
        container(s, "redis").env = [
            { name: "A8_ENCRYPTION_KEY", value: "abcdefghijklmnop" },
            { name: "api_token", value: "t" },
        ];
        const r = messages(await runResource(noSecretLiterals, s));
        assert.match(r, /container config sets REDIS_PASSWORD as a literal/);
        assert.match(r, /A8_ENCRYPTION_KEY/);
        assert.match(r, /api_token/);
    });
    it("flags private keys and password-named keys in ConfigMaps, not config files", async () => {
        const cm = find(goodObjects(), "ConfigMap/redis-config");
        assert.deepStrictEqual(await runResource(noSecretLiterals, cm), []);
        cm.data["tls.key"] = "-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----\n";
        cm.data["redis-password"] = "hunter2";
        const r = messages(await runResource(noSecretLiterals, cm));
        assert.match(r, /key tls\.key holds a PEM private key/);
        assert.match(r, /key redis-password looks like a secret/);
    });
    it("flags secret material by its value whatever the env var or key is called", async () => {
        const d = find(goodObjects(), "Deployment/controller");
        const pem = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n";
        container(d, "controller").env.push(
            { name: "DEPLOY_IDENTITY", value: pem },
            { name: "UPSTREAM", value: `https://x:ghp_${"a1B2".repeat(9)}@github.com/org/repo` },
            { name: "AWS_ID", value: "AKIAIOSFODNN7EXAMPLE" },
            { name: "CHAT", value: "xoxb-1234567890-abcdefghij" },
            { name: "A8_LOG_LEVEL", value: "info" },
        );
        const r = await runResource(noSecretLiterals, d);
        const text = messages(r);
        assert.match(text, /sets DEPLOY_IDENTITY to a PEM private key as a literal/);
        assert.match(text, /sets UPSTREAM to a GitHub token as a literal/);
        assert.match(text, /sets AWS_ID to an AWS access key id as a literal/);
        assert.match(text, /sets CHAT to a Slack token as a literal/);
        assert.strictEqual(r !== "not-applicable" && r.length, 4, text);
        const cm = find(goodObjects(), "ConfigMap/redis-config");
        cm.data["notes.txt"] = `glpat-${"x".repeat(20)}`;
        assert.match(messages(await runResource(noSecretLiterals, cm)), /key notes\.txt holds a GitLab token/);
    });
});

describe("sec-run-as-non-root", () => {
    it("passes pod-level runAsNonRoot and non-zero uids", async () => {
        await passesGood(runAsNonRoot);
    });
    it("flags root, an explicit runAsNonRoot: false, and the seed's unset context", async () => {
        const s = redis();
        container(s, "sentinel").securityContext.runAsUser = 0;
        assert.match(messages(await runResource(runAsNonRoot, s)), /container sentinel runs as uid 0/);
        const d = find(goodObjects(), "Deployment/controller");
        delete podSpec(d).securityContext.runAsUser;
        container(d, "controller").securityContext.runAsNonRoot = false;
        assert.match(messages(await runResource(runAsNonRoot, d)), /sets runAsNonRoot: false/);
        assert.match(messages(await runResource(runAsNonRoot, find(seedObjects(), "ReplicationController/registry"))), /may run as root/);
    });
});

describe("sec-no-privilege-escalation", () => {
    it("passes allowPrivilegeEscalation: false everywhere", async () => {
        await passesGood(noPrivilegeEscalation);
    });
    it("flags a missing setting and privileged containers", async () => {
        const s = redis();
        delete container(s, "config").securityContext;
        container(s, "redis").securityContext = { ...container(s, "redis").securityContext, privileged: true };
        const r = messages(await runResource(noPrivilegeEscalation, s));
        assert.match(r, /container config does not set securityContext\.allowPrivilegeEscalation: false/);
        assert.match(r, /container redis is privileged/);
    });
});

describe("sec-capabilities-drop-all", () => {
    it("passes drop ALL (and adding NET_BIND_SERVICE)", async () => {
        await passesGood(capabilitiesDropAll);
        const d = find(goodObjects(), "Deployment/controller");
        container(d, "controller").securityContext.capabilities.add = ["NET_BIND_SERVICE"];
        assert.deepStrictEqual(await runResource(capabilitiesDropAll, d), []);
    });
    it("flags no drop and added capabilities", async () => {
        const d = find(goodObjects(), "Deployment/controller");
        container(d, "controller").securityContext.capabilities = { drop: ["ALL"], add: ["NET_ADMIN"] };
        assert.match(messages(await runResource(capabilitiesDropAll, d)), /adds the dangerous capability NET_ADMIN/);
        container(d, "controller").securityContext.capabilities = { drop: ["ALL"], add: ["CHOWN"] };
        assert.match(
            messages(await runResource(capabilitiesDropAll, d)),
            /adds the capability CHOWN: remove it \(only NET_BIND_SERVICE is allowed\)/,
        );
        container(d, "controller").securityContext.capabilities = { drop: ["NET_RAW"] };
        assert.match(messages(await runResource(capabilitiesDropAll, d)), /does not drop all capabilities/);
    });
    it("says both that a container adds dangerous capabilities and that it does not drop ALL", async () => {
        const d = find(goodObjects(), "Deployment/controller");
        container(d, "controller").securityContext.capabilities = { add: ["ALL", "SYS_ADMIN", "CAP_NET_ADMIN"] };
        const r = await runResource(capabilitiesDropAll, d);
        assert.deepStrictEqual(r !== "not-applicable" && r.map((f) => f.message), [
            "Deployment/controller container controller adds the dangerous capabilities ALL, SYS_ADMIN, NET_ADMIN (ALL grants every " +
                "capability, SYS_ADMIN included): remove them from securityContext.capabilities.add.",
            "Deployment/controller container controller does not drop all capabilities: set securityContext.capabilities.drop: [ALL].",
        ]);
    });
});

describe("sec-read-only-root-fs", () => {
    it("passes readOnlyRootFilesystem: true", async () => {
        await passesGood(readOnlyRootFs);
    });
    it("flags a writable root filesystem", async () => {
        const d = find(goodObjects(), "Deployment/redis-haproxy");
        container(d, "haproxy").securityContext.readOnlyRootFilesystem = false;
        assert.match(messages(await runResource(readOnlyRootFs, d)), /container haproxy has a writable root filesystem/);
    });
});

describe("sec-seccomp-profile", () => {
    it("passes a pod-level RuntimeDefault and container-level Localhost", async () => {
        await passesGood(seccompProfile);
        const d = find(goodObjects(), "Deployment/controller");
        delete podSpec(d).securityContext.seccompProfile;
        container(d, "controller").securityContext.seccompProfile = { type: "Localhost", localhostProfile: "a8.json" };
        assert.deepStrictEqual(await runResource(seccompProfile, d), []);
    });
    it("flags Unconfined and unset profiles", async () => {
        const d = find(goodObjects(), "Deployment/controller");
        container(d, "controller").securityContext.seccompProfile = { type: "Unconfined" };
        assert.match(messages(await runResource(seccompProfile, d)), /seccompProfile Unconfined/);
        delete podSpec(d).securityContext.seccompProfile;
        delete container(d, "controller").securityContext.seccompProfile;
        assert.match(messages(await runResource(seccompProfile, d)), /seccompProfile unset/);
    });
});

describe("sec-no-host-access", () => {
    it("passes pods without host namespaces, ports or paths", async () => {
        await passesGood(noHostAccess);
    });
    it("flags hostNetwork, hostPID, hostIPC, hostPort and hostPath", async () => {
        const s = redis();
        Object.assign(podSpec(s), { hostNetwork: true, hostPID: true, hostIPC: true });
        podSpec(s).volumes.push({ name: "docker", hostPath: { path: "/var/run/docker.sock" } });
        container(s, "redis").ports[0].hostPort = 6379;
        const r = messages(await runResource(noHostAccess, s));
        for (const re of [
            /hostNetwork: true/,
            /hostPID: true/,
            /hostIPC: true/,
            /binds hostPort 6379/,
            /mounts hostPath \/var\/run\/docker\.sock/,
        ]) {
            assert.match(r, re);
        }
    });
    it("reports every problem of one container: a hostPort and an unsafe procMount both", async () => {
        const s = redis();
        container(s, "redis").ports[0].hostPort = 6379;
        container(s, "redis").securityContext.procMount = "Unmasked";
        const r = await runResource(noHostAccess, s);
        assert.deepStrictEqual(r !== "not-applicable" && r.map((f) => f.message), [
            "StatefulSet/redis container redis binds hostPort 6379: remove hostPort and reach it through a Service.",
            "StatefulSet/redis container redis sets procMount Unmasked: remove it.",
        ]);
    });
});

describe("sec-sa-token-automount (advisory)", () => {
    const SA = (automount?: boolean): K8sObject => ({
        apiVersion: "v1",
        kind: "ServiceAccount",
        metadata: { name: "controller", namespace: "amalgam8" },
        ...(automount === undefined ? {} : { automountServiceAccountToken: automount }),
    });
    function controller(automount?: boolean): K8sObject {
        const d = find(goodObjects(), "Deployment/controller");
        podSpec(d).serviceAccountName = "controller";
        if (automount === undefined) delete podSpec(d).automountServiceAccountToken;
        else podSpec(d).automountServiceAccountToken = automount;
        return d;
    }
    it("passes automountServiceAccountToken: false on the pod", async () => {
        assert.deepStrictEqual(await runStack(saTokenAutomount, goodObjects()), []);
    });
    it("honours Kubernetes' default: unset on the pod, false on its ServiceAccount, mounts no token", async () => {
        assert.deepStrictEqual(await runStack(saTokenAutomount, [controller(undefined), SA(false)]), []);
    });
    it("flags a mounted token, naming why", async () => {
        assert.match(
            messages(await runStack(saTokenAutomount, seedObjects())),
            new RegExp(
                "ReplicationController/controller leaves automountServiceAccountToken unset and runs as the namespace's default " +
                    "ServiceAccount, so .*: set spec\\.template\\.spec\\.automountServiceAccountToken: false\\.",
            ),
        );
        assert.match(
            messages(await runStack(saTokenAutomount, [controller(undefined), SA(undefined)])),
            /its ServiceAccount controller does not set it to false/,
        );
        assert.match(
            messages(await runStack(saTokenAutomount, [controller(undefined)])),
            /its ServiceAccount controller is not in this input/,
        );
        // The pod's own true wins over the ServiceAccount's false.
        assert.match(messages(await runStack(saTokenAutomount, [controller(true), SA(false)])), /sets automountServiceAccountToken: true/);
    });
});
describe("sec-redis-auth", () => {
    it("passes requirepass/masterauth placeholders with a mounted Secret, and Sentinel auth", async () => {
        assert.deepStrictEqual(await runStack(redisAuth, goodObjects()), []);
    });
    it("flags Redis without requirepass", async () => {
        const objs = goodObjects();
        editConf(objs, "ConfigMap/redis-config", "redis.conf", (t) => t.replace(/^requirepass .*$/m, ""));
        const f = await runStack(redisAuth, objs);
        assert.deepStrictEqual(refs(f), ["StatefulSet/redis"]);
        assert.match(messages(f), /without AUTH/);
    });
    it("flags a requirepass literal when the pod reads no Secret", async () => {
        const objs = goodObjects();
        const sts = find(objs, "StatefulSet/redis");
        podSpec(sts).volumes = podSpec(sts).volumes.filter((v: any) => !v.secret);
        const f = await runStack(redisAuth, objs);
        assert.match(messages(f), /requirepass in ConfigMap\/redis-config \(redis\.conf\) is a literal/);
    });
    it("accepts --requirepass from a secretKeyRef env var and rejects a literal flag", async () => {
        const objs = goodObjects();
        editConf(objs, "ConfigMap/redis-config", "redis.conf", (t) => t.replace(/^requirepass .*$/m, ""));
        const sts = find(objs, "StatefulSet/redis");
        podSpec(sts).volumes = podSpec(sts).volumes.filter((v: any) => !v.secret);
        const redis = container(sts, "redis");
        redis.command = ["redis-server", "/conf/redis.conf", "--requirepass", "$(REDIS_PASSWORD)"];
        redis.env = [{ name: "REDIS_PASSWORD", valueFrom: { secretKeyRef: { name: "redis-auth", key: "password" } } }];
        assert.doesNotMatch(messages(await runStack(redisAuth, objs)), /requirepass/);
        redis.command = ["redis-server", "--requirepass", "hunter2"];
        assert.match(messages(await runStack(redisAuth, objs)), /--requirepass as a literal/);
    });
    it("flags a replicated Redis without masterauth", async () => {
        const objs = goodObjects();
        editConf(objs, "ConfigMap/redis-config", "redis.conf", (t) => t.replace(/^masterauth .*$/m, ""));
        assert.match(messages(await runStack(redisAuth, objs)), /has no masterauth/);
    });
    it("flags Sentinels without auth-pass or their own requirepass", async () => {
        const objs = goodObjects();
        editConf(objs, "ConfigMap/redis-config", "sentinel.conf", (t) =>
            t.replace(/^sentinel auth-pass .*$/m, "").replace(/^requirepass .*$/m, ""),
        );
        const text = messages(await runStack(redisAuth, objs));
        assert.match(text, /without "sentinel auth-pass mymaster/);
        assert.match(text, /Sentinel has no requirepass/);
    });
    it("flags the seed's password-less Redis", async () => {
        assert.deepStrictEqual(refs(await runStack(redisAuth, seedObjects())), ["ReplicationController/redis"]);
    });
});

describe("sec-redis-not-exposed", () => {
    it("passes ClusterIP and headless Services", async () => {
        assert.deepStrictEqual(await runStack(redisNotExposed, goodObjects()), []);
    });
    it("flags NodePort, LoadBalancer and externalIPs on any Service selecting Redis, proxy included", async () => {
        const objs = goodObjects();
        find(objs, "Service/redis-haproxy").spec.type = "LoadBalancer";
        const headless = find(objs, "Service/redis");
        delete headless.spec.clusterIP;
        headless.spec.externalIPs = ["203.0.113.7"];
        const f = await runStack(redisNotExposed, objs);
        assert.deepStrictEqual(refs(f).sort(), ["Service/redis", "Service/redis-haproxy"]);
        assert.match(messages(f), /has externalIPs 203\.0\.113\.7/);
        assert.match(messages(f), /is type LoadBalancer/);
    });
    it("recognises Redis by image even without Redis labels (the seed's NodePort 31400)", async () => {
        const f = await runStack(redisNotExposed, seedObjects());
        assert.deepStrictEqual(refs(f), ["Service/redis"]);
        assert.match(messages(f), /is type NodePort/);
    });
});

describe("sec-redis-network-policy", () => {
    it("passes policies that admit only listed pods", async () => {
        assert.deepStrictEqual(await runStack(redisNetworkPolicy, goodObjects()), []);
    });
    it("flags Redis pods no NetworkPolicy isolates", async () => {
        const f = await runStack(redisNetworkPolicy, without(goodObjects(), "NetworkPolicy/redis"));
        assert.deepStrictEqual(refs(f), ["StatefulSet/redis"]);
        assert.match(messages(f), /selected by no NetworkPolicy/);
    });
    it("does not count an Egress-only policy", async () => {
        const objs = goodObjects();
        find(objs, "NetworkPolicy/redis-haproxy").spec.policyTypes = ["Egress"];
        assert.deepStrictEqual(refs(await runStack(redisNetworkPolicy, objs)), ["Deployment/redis-haproxy"]);
    });
    it("flags rules open to every source, an IP block, whole namespaces or every pod", async () => {
        for (const [rule, why] of [
            [{ ports: [{ port: 6379 }] }, /without `from` admits every source/],
            [{ from: [{ ipBlock: { cidr: "0.0.0.0/0" } }] }, /admits the IP range 0\.0\.0\.0\/0/],
            [{ from: [{ namespaceSelector: {} }] }, /every pod of the selected namespaces/],
            [{ from: [{ podSelector: {} }] }, /every pod \(empty podSelector\)/],
        ] as const) {
            const objs = goodObjects();
            find(objs, "NetworkPolicy/redis").spec.ingress.push(rule);
            const f = await runStack(redisNetworkPolicy, objs);
            assert.deepStrictEqual(refs(f), ["NetworkPolicy/redis"], JSON.stringify(rule));
            assert.match(messages(f), why);
        }
    });
    it("allows an open rule that only reaches a non-Redis port (e.g. the proxy's health port)", async () => {
        const objs = goodObjects();
        find(objs, "NetworkPolicy/redis-haproxy").spec.ingress.push({ ports: [{ port: 8404 }] });
        assert.deepStrictEqual(await runStack(redisNetworkPolicy, objs), []);
        find(objs, "NetworkPolicy/redis-haproxy").spec.ingress.push({ ports: [{ port: "redis" }] });
        assert.deepStrictEqual(refs(await runStack(redisNetworkPolicy, objs)), ["NetworkPolicy/redis-haproxy"]);
    });
});
