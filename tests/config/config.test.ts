import { strict as assert } from "assert";
import {
    ConfigError,
    DEFAULTS,
    PROJECT,
    imageVersion,
    parseHostPort,
    parseSettings,
    resolveSettings,
    stackFileProblems,
} from "../../components/config";

const key = (k: string) => `${PROJECT}:${k}`;

/** Raw config as the CLI hands it over: strings, JSON for objects. */
function raw(values: Record<string, unknown>, secretKeys: string[] = []) {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(values)) out[key(k)] = typeof v === "string" ? v : JSON.stringify(v);
    return { values: out, secretKeys: secretKeys.map(key) };
}

function problemsOf(values: Record<string, unknown>, secretKeys: string[] = []): string[] {
    try {
        parseSettings(raw(values, secretKeys));
    } catch (e) {
        assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${e}`);
        return e.problems;
    }
    assert.fail("expected the configuration to be rejected");
}

/** Exactly one problem, naming the key, and containing every expected fragment. */
function rejects(values: Record<string, unknown>, keyName: string, ...fragments: string[]) {
    const problems = problemsOf(values);
    assert.equal(problems.length, 1, `expected one problem, got:\n${problems.join("\n")}`);
    assert.ok(problems[0].startsWith(`${key(keyName)}: `), `message does not start with the key: ${problems[0]}`);
    for (const f of fragments) assert.ok(problems[0].includes(f), `"${problems[0]}" lacks "${f}"`);
}

describe("stack configuration (pure)", () => {
    it("applies the documented defaults to an empty configuration", () => {
        const s = parseSettings(raw({}));
        assert.deepEqual(s, DEFAULTS);
        assert.equal(s.controller.port, 6080);
        assert.equal(s.registry.port, 5080);
        assert.equal(s.controller.nodePort, 31200);
        assert.equal(s.registry.nodePort, 31300);
        assert.equal(s.controller.image, "amalgam8/a8-controller:1.1.0");
        assert.equal(s.registry.image, "amalgam8/a8-registry:1.1.0");
        assert.match(s.redis.image, /^redis:7\.\d+\.\d+/);
    });

    it("defaults to the HA deployment: Redis ha, three of everything", () => {
        const s = parseSettings(raw({}));
        assert.equal(s.storage, "redis");
        assert.equal(s.redis.mode, "ha");
        assert.equal(s.redis.nodes, 3);
        assert.equal(s.redis.haproxy.replicas, 3);
        assert.equal(s.controller.replicas, 3);
        assert.equal(s.registry.replicas, 3);
    });

    it("reads structured values and numbers given as strings", () => {
        const s = parseSettings(
            raw({
                storage: "redis",
                serviceType: "NodePort",
                createNamespace: "false",
                controller: { replicas: "3", port: 7080, logLevel: "debug" },
                registry: { autoscaling: { minReplicas: 2, maxReplicas: 5 } },
                redis: { mode: "ha", nodes: 5, haproxy: { replicas: 3 } },
            }),
        );
        assert.equal(s.serviceType, "NodePort");
        assert.equal(s.createNamespace, false);
        assert.equal(s.controller.replicas, 3);
        assert.equal(s.controller.port, 7080);
        assert.equal(s.controller.logLevel, "debug");
        assert.equal(s.controller.nodePort, 31200, "unset keys of an object keep their defaults");
        assert.deepEqual(s.registry.autoscaling, { minReplicas: 2, maxReplicas: 5, targetCpuUtilization: 70 });
        assert.equal(s.redis.nodes, 5);
        assert.equal(s.redis.haproxy.replicas, 3);
    });

    it("leaves the provider's and Pulumi's own keys to them", () => {
        const s = parseSettings({ values: { "kubernetes:context": "kind-a8", "pulumi:tags": "{}" } });
        assert.equal(s.namespace, DEFAULTS.namespace);
    });

    it("rejects a key of any other namespace instead of deploying the defaults (a mistyped prefix)", () => {
        const problem = (values: Record<string, string>) => {
            try {
                parseSettings({ values });
            } catch (e) {
                assert.ok(e instanceof ConfigError);
                return e.problems;
            }
            assert.fail("expected a ConfigError");
        };
        assert.deepEqual(problem({ "a8-controlplane:namespace": "amalgam8-dev" }), [
            "a8-controlplane:namespace: is in namespace a8-controlplane, which nothing here reads; " +
                "keys are a8-control-plane:<key>, kubernetes:<key>, pulumi:<key> (did you mean a8-control-plane:namespace?)",
        ]);
        assert.match(
            problem({ "aws:region": "eu-west-1" })[0],
            /^aws:region: is in namespace aws, which nothing here reads; keys are a8-control-plane:<key>, kubernetes:<key>, pulumi:<key>$/,
        );
    });

    it("hints --path for a nested key set as a top-level one", () =>
        rejects(
            { "controller.replicas": "3" },
            "controller.replicas",
            "unknown key",
            "pulumi config set --path controller.replicas <value>",
        ));

    describe("rejects bad input with one message naming the key, the value and what is allowed", () => {
        it("nodePort outside 30000-32767 (the documented example)", () => {
            const problems = problemsOf({ controller: { nodePort: 29999 } });
            assert.deepEqual(problems, ["a8-control-plane:controller.nodePort: 29999 is outside 30000-32767"]);
        });
        for (const bad of [0, -1, 1.5, "two"]) {
            it(`replicas ${JSON.stringify(bad)}`, () =>
                rejects({ registry: { replicas: bad } }, "registry.replicas", JSON.stringify(bad), "1-1000"));
        }
        for (const bad of [0, 65536, 100000]) {
            it(`port ${bad}`, () => rejects({ controller: { port: bad } }, "controller.port", String(bad), "1-65535"));
        }
        it("nodePort above the range", () => rejects({ registry: { nodePort: 32768 } }, "registry.nodePort", "32768", "30000-32767"));
        it("colliding nodePorts", () =>
            rejects(
                { serviceType: "NodePort", controller: { nodePort: 31000 }, registry: { nodePort: 31000 } },
                "registry.nodePort",
                "31000",
                "collides",
            ));
        it("storage", () => rejects({ storage: "etcd" }, "storage", '"etcd"', "redis, memory"));
        it("serviceType", () => rejects({ serviceType: "Ingress" }, "serviceType", '"Ingress"', "ClusterIP, NodePort, LoadBalancer"));
        it("auth", () => rejects({ auth: "basic" }, "auth", '"basic"', "none, jwt"));
        it("redis mode", () => rejects({ redis: { mode: "cluster" } }, "redis.mode", '"cluster"', "standalone, ha, external"));
        it("log level", () =>
            rejects({ controller: { logLevel: "verbose" } }, "controller.logLevel", '"verbose"', "debug, info, warn, error, fatal, panic"));
        it("in-memory storage with several controller replicas", () =>
            rejects(
                { storage: "memory", controller: { replicas: 2 }, registry: { replicas: 1 } },
                "controller.replicas",
                "2",
                "must be 1 with storage memory",
            ));
        it("in-memory storage alone: says what to set, blaming no value the user never wrote", () => {
            const problems = problemsOf({ storage: "memory" });
            assert.deepEqual(problems, [
                'a8-control-plane:storage: "memory" runs one replica of each service (each would keep its own copy of the data): ' +
                    "set controller.replicas and registry.replicas to 1 " +
                    "(pulumi config set --path controller.replicas 1; pulumi config set --path registry.replicas 1), or use storage redis",
            ]);
        });
        it("in-memory storage with the registry's replicas left unset", () =>
            rejects(
                { storage: "memory", controller: { replicas: 1 } },
                "storage",
                "set registry.replicas to 1",
                "pulumi config set --path registry.replicas 1",
            ));
        it("in-memory storage with an autoscaler", () =>
            rejects(
                { storage: "memory", controller: { replicas: 1 }, registry: { replicas: 1, autoscaling: { minReplicas: 2 } } },
                "registry.autoscaling",
                "storage memory",
            ));
        it("an untagged image", () => rejects({ controller: { image: "amalgam8/a8-controller" } }, "controller.image", "no tag"));
        it("an image tagged latest", () => rejects({ registry: { image: "amalgam8/a8-registry:latest" } }, "registry.image", "latest"));
        it("an untagged Redis image", () => rejects({ redis: { image: "redis" } }, "redis.image", "no tag"));
        it("an unknown top-level key (typo)", () => rejects({ serviceTyp: "NodePort" }, "serviceTyp", "unknown key", "serviceType"));
        it("an unknown nested key (typo)", () => rejects({ controller: { replica: 2 } }, "controller.replica", "unknown key", "replicas"));
        it("an unknown key in redis.haproxy", () =>
            rejects({ redis: { haproxy: { replica: 2 } } }, "redis.haproxy.replica", "unknown key"));
        it("an even number of Redis nodes", () => rejects({ redis: { mode: "ha", nodes: 4 } }, "redis.nodes", "4", "odd"));
        it("fewer than 3 Redis nodes", () => rejects({ redis: { mode: "ha", nodes: 1 } }, "redis.nodes", "1", "3-9"));
        it("a single HAProxy", () => rejects({ redis: { mode: "ha", haproxy: { replicas: 1 } } }, "redis.haproxy.replicas", "1", "2-100"));
        it("an autoscaler below 2 replicas", () =>
            rejects({ registry: { autoscaling: { minReplicas: 1 } } }, "registry.autoscaling.minReplicas", "1"));
        it("an autoscaler whose maximum is not above its minimum", () =>
            rejects(
                { registry: { autoscaling: { minReplicas: 3, maxReplicas: 3 } } },
                "registry.autoscaling.maxReplicas",
                "greater than minReplicas",
            ));
        it("a resource quantity", () =>
            rejects({ controller: { resources: { limits: { memory: "lots" } } } }, "controller.resources.limits.memory", "quantity"));
        it("a namespace that is not a DNS label", () => rejects({ namespace: "Amalgam8_Prod" }, "namespace", "namespace name"));
        it("an object that is not an object", () => rejects({ controller: "3 replicas" }, "controller", "not an object"));
        it("external Redis without an address", () => {
            const problems = problemsOf({ redis: { mode: "external" }, redisPassword: "s3cretPassw0rdForRedis" }, ["redisPassword"]);
            assert.deepEqual(problems.length, 1);
            assert.match(problems[0], /^a8-control-plane:redis\.address: required when redis\.mode is external/);
        });
        it("external Redis with a malformed address", () => {
            const problems = problemsOf(
                { redis: { mode: "external", address: "redis.example.com" }, redisPassword: "s3cretPassw0rdForRedis" },
                ["redisPassword"],
            );
            assert.equal(problems.length, 1);
            assert.match(problems[0], /^a8-control-plane:redis\.address: "redis\.example\.com" is not host:port/);
        });
        it("external Redis at an address that is no IP address, which the API server would refuse at pulumi up", () => {
            for (const address of ["999.1.1.1:6379", "10.0.0:6379", "10.0.0.256:6379"]) {
                const problems = problemsOf({ redis: { mode: "external", address }, redisPassword: "s3cretPassw0rdForRedis" }, [
                    "redisPassword",
                ]);
                assert.deepEqual(problems, [
                    `a8-control-plane:redis.address: "${address}" has host ${address.split(":")[0]}, which is not an IPv4 address ` +
                        "(4 numbers 0-255 joined by dots)",
                ]);
            }
        });
        it("external Redis without a password", () => {
            const problems = problemsOf({ redis: { mode: "external", address: "redis.example.com:6379" } });
            assert.equal(problems.length, 1);
            assert.match(problems[0], /^a8-control-plane:redisPassword: required when redis\.mode is external/);
        });
        it("a secret given in plain text, without echoing it", () => {
            const problems = problemsOf({ auth: "jwt", jwtSecret: "hunter2hunter2hunter2" });
            assert.equal(problems.length, 1);
            assert.match(problems[0], /^a8-control-plane:jwtSecret: is stored in plain text/);
            assert.ok(!problems[0].includes("hunter2"), "the message must not reveal the secret");
        });
        it("reports every problem at once", () => {
            const problems = problemsOf({ storage: "etcd", controller: { port: 0 }, auth: "basic" });
            assert.equal(problems.length, 3);
        });
    });

    it("accepts an external Redis with a secret password", () => {
        const s = parseSettings(
            raw({ redis: { mode: "external", address: "10.0.0.5:6380" }, redisPassword: "s3cretPassw0rdForRedis" }, ["redisPassword"]),
        );
        assert.equal(s.redis.address, "10.0.0.5:6380");
    });

    it("reads an image's version", () => {
        assert.equal(imageVersion("amalgam8/a8-registry:1.1.0"), "1.1.0");
        assert.equal(imageVersion("registry.example.com:5000/redis:7.2.5-alpine"), "7.2.5-alpine");
    });

    it("parses host:port", () => {
        assert.deepEqual(parseHostPort("redis.example.com:6379"), { host: "redis.example.com", port: 6379 });
        assert.equal(parseHostPort("redis.example.com"), undefined);
        assert.equal(parseHostPort("redis.example.com:70000"), undefined);
    });
});

describe("library arguments (pure)", () => {
    function argProblems(input: Parameters<typeof resolveSettings>[0], secrets: Parameters<typeof resolveSettings>[1] = {}): string[] {
        try {
            resolveSettings(input, secrets);
        } catch (e) {
            assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${e}`);
            return e.problems;
        }
        assert.fail("expected the arguments to be rejected");
    }

    it("no arguments are the defaults", () => assert.deepEqual(resolveSettings({}), DEFAULTS));

    it("merges partial nested settings onto the defaults", () => {
        const s = resolveSettings({
            controller: { replicas: 5 },
            redis: { haproxy: { replicas: 4 }, sentinel: { failoverTimeout: 9000 } },
        });
        assert.deepEqual(s.controller, { ...DEFAULTS.controller, replicas: 5 });
        assert.deepEqual(s.registry, DEFAULTS.registry);
        assert.deepEqual(s.redis.haproxy, { ...DEFAULTS.redis.haproxy, replicas: 4 });
        assert.deepEqual(s.redis.sentinel, { ...DEFAULTS.redis.sentinel, failoverTimeout: 9000 });
        assert.equal(s.redis.mode, "ha");
    });

    it("applies the stack configuration's rules and messages, naming the argument", () => {
        assert.deepEqual(argProblems({ controller: { replicas: -3 } }), ["controller.replicas: -3 is outside 1-1000"]);
        assert.deepEqual(argProblems({ registry: { nodePort: 5 } }), ["registry.nodePort: 5 is outside 30000-32767"]);
        assert.deepEqual(argProblems({ storage: "memory", controller: { replicas: 1 }, registry: { replicas: 2 } }), [
            "registry.replicas: 2 must be 1 with storage memory " +
                "(each replica would keep its own copy of the data; use storage redis for several replicas)",
        ]);
        assert.deepEqual(argProblems({ storage: "memory" }), [
            'storage: "memory" runs one replica of each service (each would keep its own copy of the data): ' +
                "set controller.replicas and registry.replicas to 1 (controller.replicas: 1; registry.replicas: 1), or use storage redis",
        ]);
        assert.deepEqual(argProblems({ controller: { replica: 2 } as never }), [
            "controller.replica: unknown key (allowed in controller: replicas, port, nodePort, image, logLevel, resources, autoscaling)",
        ]);
        assert.match(argProblems({ replicas: 3 } as never)[0], /^replicas: unknown key \(allowed: namespace, /);
    });

    it("checks secrets given as plain strings, and requires a password for an external Redis", () => {
        assert.deepEqual(argProblems({ redis: { mode: "external", address: "redis.example.com:6379" } }), [
            "redisPassword: required when redis.mode is external (pulumi config set --secret redisPassword <password>)",
        ]);
        assert.deepEqual(argProblems({}, { redisPassword: "short" }), [
            "redisPassword: must be at least 16 characters of letters, digits and ._~+/=@:,- " +
                "(it is substituted into Redis, Sentinel and HAProxy configuration)",
        ]);
        assert.equal(argProblems({}, { redisPassword: "sixteen chars ok" }).length, 1, "a blank would split HAProxy's AUTH command");
        assert.ok(
            !argProblems({}, { redisPassword: "sixteen chars ok" })[0].includes("sixteen"),
            "the message must not reveal the password",
        );
        assert.equal(resolveSettings({}, { redisPassword: "Tr1cky/Pass=word+-_.~@:," }).redis.mode, "ha", "symbols the scripts accept");
        const managed = { mode: "external", address: "redis.example.com:6379" } as const;
        assert.equal(
            resolveSettings({ redis: managed }, { redisPassword: "a managed one's own" }).redis.mode,
            "external",
            "not rendered into files",
        );
        assert.deepEqual(argProblems({}, { jwtSecret: "s3cret-s3cret-s3cret" }), [
            "jwtSecret: is set but auth is none (set auth to jwt, or remove it)",
        ]);
        assert.equal(resolveSettings({ auth: "jwt" }, { jwtSecret: "s3cret-s3cret-s3cret" }).auth, "jwt");
    });
});

describe("stack files (pure)", () => {
    it("accepts the project's, kubernetes: and pulumi: keys under config:, and Pulumi's own top-level keys", () => {
        const doc = {
            secretsprovider: "passphrase",
            encryptionsalt: "v1:abc",
            config: { "a8-control-plane:namespace": "x", "kubernetes:context": "kind-a8", "pulumi:tags": { team: "mesh" } },
        };
        assert.deepEqual(stackFileProblems(doc), []);
        assert.deepEqual(stackFileProblems(null), [], "an empty file");
    });

    it("names a key the CLI would ignore because it is not under config:", () => {
        assert.deepEqual(stackFileProblems({ "a8-control-plane:namespace": "amalgam8-dev", "a8-control-plane:storage": "redis" }), [
            "a8-control-plane:namespace: is not under config: (the Pulumi CLI would ignore it; indent it under config:)",
            "a8-control-plane:storage: is not under config: (the Pulumi CLI would ignore it; indent it under config:)",
        ]);
        assert.deepEqual(stackFileProblems({ conifg: {} }), [
            "conifg: unknown top-level key (allowed: config, environment, secretsprovider, encryptedkey, encryptionsalt)",
        ]);
        assert.deepEqual(stackFileProblems({ config: ["a8-control-plane:namespace=x"] }), [
            "config: is not a mapping of a8-control-plane:<key> entries",
        ]);
    });

    it("names a config key of a namespace nothing reads, or of none", () => {
        assert.deepEqual(stackFileProblems({ config: { "a8-controlplane:namespace": "amalgam8-dev", namespace: "x" } }), [
            "a8-controlplane:namespace: is in namespace a8-controlplane, which nothing here reads; " +
                "keys are a8-control-plane:<key>, kubernetes:<key>, pulumi:<key> (did you mean a8-control-plane:namespace?)",
            "namespace: has no namespace; " +
                "keys are a8-control-plane:<key>, kubernetes:<key>, pulumi:<key> (did you mean a8-control-plane:namespace?)",
        ]);
    });
});
