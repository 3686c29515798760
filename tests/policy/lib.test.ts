import * as assert from "assert";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import { SPEED_PATCHES, VERIFIED_POLICY_SDK, isSharedResult, sharedDeserialize, speedPatchesApply } from "../../policy/lib/deserializeOnce";
import { DEFAULTS, PROJECT, parseSettings } from "../../components/config";
import { STACK_KEY_SOURCES, stackKeyOf } from "../../policy/lib/stackKeys";
import { asK8sObject, intOrPercent, parseTypeToken, podTemplateOf, typeToken } from "../../policy/lib/k8s";
import { imageReferenceProblem, parseImageReference } from "../../policy/lib/image";
import { ResourceValidationArgs } from "@pulumi/policy";
import { isExempt, resourceRule } from "../../policy/lib/policy";
const { deserializeProperties } = require("@pulumi/policy/deserialize");
import { containerRedisRole, podRedisRole } from "../../policy/lib/redis";
import { lastDirective, parseArgDirectives, parseConf, sentinelMonitors } from "../../policy/lib/redisConfig";
import { isEmptySelector, matchesLabelSelector, matchesMapSelector, selectorProblems } from "../../policy/lib/selector";

describe("label selector matcher", () => {
    const labels = { app: "redis", tier: "db", env: "prod" };
    it("follows metav1.LabelSelector semantics for missing and empty selectors", () => {
        assert.strictEqual(matchesLabelSelector(undefined, labels), false);
        assert.strictEqual(matchesLabelSelector(null, labels), false);
        assert.strictEqual(matchesLabelSelector({}, labels), true);
        assert.strictEqual(isEmptySelector({}), true);
        assert.strictEqual(isEmptySelector({ matchLabels: { a: "b" } }), false);
    });
    it("requires every matchLabels pair", () => {
        assert.strictEqual(matchesLabelSelector({ matchLabels: { app: "redis", tier: "db" } }, labels), true);
        assert.strictEqual(matchesLabelSelector({ matchLabels: { app: "redis", tier: "web" } }, labels), false);
    });
    it("evaluates In, NotIn, Exists and DoesNotExist", () => {
        const m = (e: any) => matchesLabelSelector({ matchExpressions: [e] }, labels);
        assert.strictEqual(m({ key: "app", operator: "In", values: ["redis", "x"] }), true);
        assert.strictEqual(m({ key: "app", operator: "In", values: ["x"] }), false);
        assert.strictEqual(m({ key: "app", operator: "NotIn", values: ["x"] }), true);
        assert.strictEqual(m({ key: "app", operator: "NotIn", values: ["redis"] }), false);
        assert.strictEqual(m({ key: "missing", operator: "NotIn", values: ["x"] }), true);
        assert.strictEqual(m({ key: "tier", operator: "Exists" }), true);
        assert.strictEqual(m({ key: "missing", operator: "Exists" }), false);
        assert.strictEqual(m({ key: "missing", operator: "DoesNotExist" }), true);
        assert.strictEqual(m({ key: "env", operator: "DoesNotExist" }), false);
    });
    it("combines labels and expressions, and matches nothing when malformed", () => {
        assert.strictEqual(
            matchesLabelSelector(
                { matchLabels: { app: "redis" }, matchExpressions: [{ key: "env", operator: "In", values: ["dev"] }] },
                labels,
            ),
            false,
        );
        assert.strictEqual(
            matchesLabelSelector({ matchExpressions: [{ key: "app", operator: "Equals", values: ["redis"] }] }, labels),
            false,
        );
        assert.strictEqual(matchesLabelSelector({ matchExpressions: [{ key: "app", operator: "In" }] }, labels), false);
        assert.deepStrictEqual(selectorProblems({ matchExpressions: [{ key: "a", operator: "Exists", values: ["x"] }] }), [
            "matchExpressions a Exists must not list values",
        ]);
    });
    it("treats Service map selectors as equality subsets that never match when empty", () => {
        assert.strictEqual(matchesMapSelector({ app: "redis" }, labels), true);
        assert.strictEqual(matchesMapSelector({ app: "redis", x: "y" }, labels), false);
        assert.strictEqual(matchesMapSelector({}, labels), false);
        assert.strictEqual(matchesMapSelector(undefined, labels), false);
    });
});

describe("Kubernetes helpers", () => {
    it("maps type tokens to apiVersion/kind and back", () => {
        assert.deepStrictEqual(parseTypeToken("kubernetes:core/v1:Service"), {
            group: "",
            version: "v1",
            kind: "Service",
            apiVersion: "v1",
        });
        assert.strictEqual(parseTypeToken("kubernetes:networking.k8s.io/v1:NetworkPolicy")?.apiVersion, "networking.k8s.io/v1");
        assert.strictEqual(parseTypeToken("kubernetes:yaml/v2:ConfigGroup"), undefined);
        assert.strictEqual(parseTypeToken("kubernetes:core/v1:ConfigMapList"), undefined);
        assert.strictEqual(parseTypeToken("kubernetes:apps/v1:DeploymentPatch"), undefined);
        assert.strictEqual(parseTypeToken("random:index/randomPassword:RandomPassword"), undefined);
        assert.strictEqual(typeToken("v1", "Secret"), "kubernetes:core/v1:Secret");
        assert.strictEqual(typeToken("policy/v1", "PodDisruptionBudget"), "kubernetes:policy/v1:PodDisruptionBudget");
    });
    it("fills apiVersion and kind from the type token", () => {
        assert.deepStrictEqual(asK8sObject("kubernetes:apps/v1:Deployment", { metadata: { name: "x" } }), {
            metadata: { name: "x" },
            apiVersion: "apps/v1",
            kind: "Deployment",
        });
    });
    it("parses image references with registries, ports, tags and digests", () => {
        assert.deepStrictEqual(parseImageReference("redis"), { repository: "redis", tag: undefined, digest: undefined });
        assert.deepStrictEqual(parseImageReference("registry:5000/team/redis:7.2"), {
            repository: "registry:5000/team/redis",
            tag: "7.2",
            digest: undefined,
        });
        assert.deepStrictEqual(parseImageReference("redis@sha256:abc"), { repository: "redis", tag: undefined, digest: "sha256:abc" });
        assert.deepStrictEqual(parseImageReference("bitnami/redis:7.2@sha256:abc"), {
            repository: "bitnami/redis",
            tag: "7.2",
            digest: "sha256:abc",
        });
    });
    it("judges image references: digest, tag, latest, and what is no reference at all", () => {
        const digest = `sha256:${"a".repeat(64)}`;
        const kindOf = (image: unknown, requireDigest = false) => imageReferenceProblem(image, { requireDigest })?.kind;
        for (const pinned of [
            "redis:7.2.5-alpine",
            "registry.example.com:5000/team/a8-controller:1.1.0",
            "localhost:5000/a8_registry:1.1.0",
            "my_team/a8-registry:1.1.0",
            `amalgam8/a8-controller@${digest}`,
        ]) {
            assert.strictEqual(kindOf(pinned), undefined, pinned);
        }
        assert.strictEqual(kindOf(`amalgam8/a8-controller:1.1.0@${digest}`, true), undefined);
        const cases: [unknown, string][] = [
            [undefined, "missing"],
            ["  ", "missing"],
            ["redis 7", "not-a-reference"],
            ["-redis:7", "not-a-reference"],
            ["a:b:c", "not-a-reference"],
            ["team//redis:7", "not-a-reference"],
            ["registry.example.com:port/redis:7", "not-a-reference"],
            ["redis@sha256:abc", "malformed-digest"],
            [`redis@sha256:${"A".repeat(64)}`, "malformed-digest"],
            ["registry.example.com:5000/team/a8-controller", "no-tag"],
            ["redis:", "no-tag"],
            ["redis:-7", "invalid-tag"],
            [`redis:${"7".repeat(129)}`, "invalid-tag"],
            ["redis:latest", "latest"],
            ["redis:LATEST", "latest"],
        ];
        for (const [image, kind] of cases) assert.strictEqual(kindOf(image), kind, String(image));
        assert.strictEqual(kindOf("redis:7.2", true), "no-digest");
        assert.deepStrictEqual(imageReferenceProblem("redis:latest"), {
            kind: "latest",
            reference: { repository: "redis", tag: "latest", digest: undefined },
        });
    });
    it("rounds int-or-percent values like the controllers do", () => {
        assert.strictEqual(intOrPercent("25%", 3, "down"), 0);
        assert.strictEqual(intOrPercent("25%", 3, "up"), 1);
        assert.strictEqual(intOrPercent("50%", 3, "up"), 2);
        assert.strictEqual(intOrPercent(2, 3, "up"), 2);
        assert.strictEqual(intOrPercent("2", 3, "up"), 2);
        assert.strictEqual(intOrPercent("half", 3, "up"), undefined);
    });
    it("finds the pod template of every workload kind", () => {
        const spec = { containers: [{ name: "c" }] };
        const labels = { a: "b" };
        assert.deepStrictEqual(podTemplateOf({ kind: "Pod", metadata: { labels }, spec }), { spec, labels });
        assert.deepStrictEqual(
            podTemplateOf({ kind: "CronJob", spec: { jobTemplate: { spec: { template: { metadata: { labels }, spec } } } } }),
            { spec, labels },
        );
        for (const kind of ["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job"]) {
            assert.deepStrictEqual(podTemplateOf({ kind, spec: { template: { metadata: { labels }, spec } } }), { spec, labels });
        }
        assert.strictEqual(podTemplateOf({ kind: "Service", spec: {} }), undefined);
    });
    it("matches exemptions by name, Kind/name or namespace/Kind/name", () => {
        const obj = { kind: "Service", metadata: { name: "redis", namespace: "a8" } };
        assert.ok(isExempt(["redis"], obj));
        assert.ok(isExempt(["Service/redis"], obj));
        assert.ok(isExempt(["a8/Service/redis"], obj));
        assert.ok(!isExempt(["Deployment/redis", "other"], obj));
    });
});

describe("Redis recognition and config parsing", () => {
    it("recognises data nodes, Sentinels and proxies by image, command and port", () => {
        assert.strictEqual(containerRedisRole({ image: "redis:alpine" }), "server");
        assert.strictEqual(containerRedisRole({ image: "docker.io/bitnami/redis:7.2" }), "server");
        assert.strictEqual(containerRedisRole({ image: "corp/cache:1", ports: [{ containerPort: 6379 }] }), "server");
        assert.strictEqual(containerRedisRole({ image: "redis:7", command: ["redis-sentinel", "/conf/sentinel.conf"] }), "sentinel");
        assert.strictEqual(containerRedisRole({ image: "redis:7", command: ["redis-server", "/s.conf", "--sentinel"] }), "sentinel");
        assert.strictEqual(containerRedisRole({ name: "sentinel", image: "redis:7", command: ["sh", "/start.sh"] }), "sentinel");
        assert.strictEqual(containerRedisRole({ image: "bitnami/redis-sentinel:7" }), "sentinel");
        assert.strictEqual(containerRedisRole({ image: "haproxy:2.6", ports: [{ containerPort: 6379 }] }), "proxy");
        assert.strictEqual(containerRedisRole({ image: "haproxy:2.6", ports: [{ containerPort: 80 }] }), undefined);
        assert.strictEqual(containerRedisRole({ image: "amalgam8/a8-controller:1.1.0", ports: [{ containerPort: 8080 }] }), undefined);
    });
    it("gives a pod the strongest role, or the label's when no container says", () => {
        const pod = (containers: any[], labels: Record<string, string> = {}) => podRedisRole({ spec: { containers }, labels });
        assert.strictEqual(pod([{ image: "redis:7" }, { name: "sentinel", image: "redis:7" }]), "server");
        assert.strictEqual(pod([{ image: "redis:7", args: ["--sentinel"] }]), "sentinel");
        assert.strictEqual(pod([{ image: "corp/store:1" }], { "app.kubernetes.io/name": "redis" }), "server");
        assert.strictEqual(pod([{ image: "corp/store:1" }]), undefined);
    });
    it("parses config text tolerantly: comments, case, quotes, CRLF", () => {
        const ds = parseConf(
            '# comment\r\n  REQUIREPASS "pass word"\r\n\r\nappendonly yes # trailing\nSentinel Monitor mymaster 10.0.0.1 6379 2\n',
        );
        assert.deepStrictEqual(lastDirective(ds, "requirepass")?.args, ["pass word"]);
        assert.deepStrictEqual(lastDirective(ds, "appendonly")?.args, ["yes"]);
        assert.deepStrictEqual(sentinelMonitors(ds), [{ master: "mymaster", host: "10.0.0.1", port: "6379", quorum: 2 }]);
        assert.deepStrictEqual(parseConf(undefined), []);
    });
    it("reads directives from command lines, shell strings included", () => {
        const c = {
            command: [
                "sh",
                "-c",
                'exec redis-server /etc/redis.conf --appendonly yes --requirepass "$(REDIS_PASSWORD)" --min-replicas-to-write=1',
            ],
        };
        const ds = parseArgDirectives(c);
        assert.deepStrictEqual(lastDirective(ds, "appendonly")?.args, ["yes"]);
        assert.deepStrictEqual(lastDirective(ds, "requirepass")?.args, ["$(REDIS_PASSWORD)"]);
        assert.deepStrictEqual(lastDirective(ds, "min-replicas-to-write")?.args, ["1"]);
    });
});

describe("stack keys named in messages", () => {
    const keys = [...new Set(STACK_KEY_SOURCES.flatMap((s) => Object.values(s.keys)))];
    it("are keys the program's configuration has", () => {
        for (const key of keys) {
            const [first, ...rest] = key.split(".");
            if (rest[0] === "autoscaling") {
                // Off by default: set it and read it back.
                const settings = parseSettings({
                    values: { [`${PROJECT}:${first}`]: JSON.stringify({ autoscaling: { minReplicas: 2, maxReplicas: 6 } }) },
                });
                const value = (settings as any)[first].autoscaling[rest[1]];
                assert.strictEqual(typeof value, "number", key);
                continue;
            }
            let v: any = DEFAULTS;
            for (const part of key.split(".")) v = v?.[part];
            assert.notStrictEqual(v, undefined, `${key} is not a stack setting`);
        }
        assert.ok(keys.includes("redis.haproxy.replicas") && keys.includes("controller.replicas"));
    });
    it("are named only for objects rendered from a stack", () => {
        const haproxy = {
            apiVersion: "apps/v1",
            kind: "Deployment",
            metadata: { name: "redis-haproxy", labels: { "app.kubernetes.io/name": "redis-haproxy" } },
        };
        const types = [
            "amalgam8:index:ControlPlane",
            "amalgam8:index:Redis",
            "amalgam8:redis:RedisHa",
            "amalgam8:redis:RedisProxy",
            "kubernetes:apps/v1:Deployment",
        ];
        const urn = `urn:pulumi:prod::a8-control-plane::${types.join("$")}::a8-redis-ha-haproxy`;
        assert.strictEqual(stackKeyOf(urn, haproxy, "replicas"), "a8-control-plane:redis.haproxy.replicas");
        assert.strictEqual(
            stackKeyOf(
                "urn:pulumi:manifests::a8-control-plane::kubernetes:apps/v1:Deployment::amalgam8/redis-haproxy",
                haproxy,
                "replicas",
            ),
            undefined,
        );
        assert.strictEqual(stackKeyOf(urn, haproxy, "serviceType"), undefined);
    });
});

describe("deserialized inputs shared by the policies of one call", () => {
    const struct = () =>
        Struct.fromJavaScript({ kind: "Deployment", spec: { replicas: 2, template: { spec: { containers: [{ name: "a" }] } } } });

    it("deserializes a request's Struct once, whichever policy asks, with the same content as before", () => {
        const shared = sharedDeserialize(deserializeProperties);
        const s = struct();
        const first = shared(s, false);
        assert.strictEqual(shared(s, false), first, "a second policy gets the same copy");
        assert.deepStrictEqual(first, deserializeProperties(s, false));
        assert.ok(isSharedResult(first));
        assert.notStrictEqual(shared(struct(), false), first, "another request's Struct is its own copy");
    });

    it("applies only to the @pulumi/policy release it was verified against, and can be turned off", () => {
        const installed: string = require("@pulumi/policy/package.json").version;
        assert.ok(speedPatchesApply(installed, undefined), `the installed @pulumi/policy ${installed} is not the verified one`);
        assert.strictEqual(SPEED_PATCHES, process.env.A8_POLICY_SPEED_PATCHES !== "off");
        for (const other of ["v1.22.0", "2.0.0", "v1.2.10", undefined]) assert.ok(!speedPatchesApply(other, undefined), String(other));
        assert.ok(!speedPatchesApply(installed, "off"));
        // Raising the pack's @pulumi/policy means reading its server again before the patches apply.
        const declared: string = require("../../policy/package.json").dependencies["@pulumi/policy"];
        assert.ok(VERIFIED_POLICY_SDK.test(declared.replace(/^[~^]/, "")), `policy/package.json asks for @pulumi/policy ${declared}`);
    });

    it("leaves the secrets-preserving form (remediation) unshared, and wraps only once", () => {
        const shared = sharedDeserialize(deserializeProperties);
        const s = struct();
        assert.notStrictEqual(shared(s, true), shared(s, true));
        assert.strictEqual(sharedDeserialize(shared), shared);
        assert.ok(!isSharedResult(deserializeProperties(s, false)));
    });
});

describe("resource rules skipping an object", () => {
    it("tell the engine why, and leave stack traces of later errors intact", () => {
        const rule = resourceRule({
            name: "t-deployments-only",
            description: "test rule",
            enforcementLevel: "advisory",
            protectsAgainst: "-",
            fix: "-",
            amalgam8Specific: false,
            kinds: ["Deployment"],
            check: () => assert.fail("a ConfigMap is not checked"),
        });
        const args = {
            type: "kubernetes:core/v1:ConfigMap",
            urn: "urn:pulumi:t::p::kubernetes:core/v1:ConfigMap::c",
            name: "c",
            props: { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c" } },
            getConfig: () => ({}),
            notApplicable: (reason?: string): never => {
                throw new Error(`not applicable: ${reason}`);
            },
        } as unknown as ResourceValidationArgs;
        const limit = Error.stackTraceLimit;
        assert.throws(
            () => (rule.validateResource as (a: ResourceValidationArgs, r: () => void) => void)(args, () => undefined),
            /not applicable: applies to Deployment/,
        );
        assert.strictEqual(Error.stackTraceLimit, limit);
        assert.ok((new Error("later").stack ?? "").split("\n").length > 1);
    });
});

describe("asK8sObject under the pack's unknown-checking proxy (a preview with a generated Secret)", () => {
    // The proxy and its sentinels are internal to @pulumi/policy: what its server hands every policy.
    const proxy: { unknownCheckingProxy: (o: object) => any; unknownObjectValue: unknown } = require("@pulumi/policy/proxy");
    const secret = proxy.unknownCheckingProxy({
        metadata: { name: "redis-auth", namespace: "amalgam8" },
        type: "Opaque",
        stringData: proxy.unknownObjectValue,
    });

    it("reads the known fields and throws only when a rule reads the unknown one", () => {
        const obj = asK8sObject("kubernetes:core/v1:Secret", secret)!;
        assert.strictEqual(obj.kind, "Secret");
        assert.strictEqual(obj.apiVersion, "v1");
        assert.strictEqual(obj.metadata?.name, "redis-auth");
        assert.ok(Object.keys(obj).includes("stringData"));
        assert.throws(
            () => obj.stringData,
            (e: Error) => e.constructor.name === "UnknownValueError",
        );
    });
});
