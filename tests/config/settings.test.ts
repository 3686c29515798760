/**
 * The settings schema is the one declaration of every setting: the parser, the defaults and the
 * known keys follow it, and its defaults pass its own rules.
 */
import { strict as assert } from "assert";
import { ConfigError, DEFAULTS, PROJECT, parseSettings, resolveSettings } from "../../components/config";
import { AnySetting, IntegerSetting, fieldsOf } from "../../components/settings/kinds";
import { REDIS_PASSWORD_PATTERN, REDIS_PASSWORD_RULE, redisPasswordProblem } from "../../components/settings/redisPassword";
import { SECRETS, SECRET_KEYS, SETTINGS, TOP_LEVEL_KEYS } from "../../components/settings/schema";

/** Every leaf setting with its key path. */
function leaves(path: string, s: AnySetting): [string, AnySetting][] {
    if (s.kind !== "group") return [[path, s]];
    return fieldsOf(s).flatMap(([k, f]) => leaves(path ? `${path}.${k}` : k, f));
}

/** `{ a: { b: value } }` for `a.b`. */
function nested(path: string, value: unknown): Record<string, unknown> {
    return path.split(".").reduceRight<unknown>((inner, k) => ({ [k]: inner }), value) as Record<string, unknown>;
}

function problemsOf(values: Record<string, unknown>): string[] {
    const raw = Object.fromEntries(Object.entries(values).map(([k, v]) => [`${PROJECT}:${k}`, JSON.stringify(v)]));
    try {
        parseSettings({ values: raw });
    } catch (e) {
        assert.ok(e instanceof ConfigError, String(e));
        return e.problems;
    }
    return [];
}

describe("settings schema", () => {
    it("its defaults pass its own rules, given explicitly", () => {
        assert.deepEqual(resolveSettings(DEFAULTS), DEFAULTS);
    });

    it("declares the Sentinel container's resources with the values the pods had", () => {
        assert.deepEqual(DEFAULTS.redis.sentinel.resources, { requests: { cpu: "50m", memory: "32Mi" }, limits: { memory: "128Mi" } });
        assert.deepEqual(problemsOf({ redis: { sentinel: { resources: { limits: { memory: "lots" } } } } }), [
            `${PROJECT}:redis.sentinel.resources.limits.memory: "lots" is not a Kubernetes quantity (e.g. 100m, 128Mi)`,
        ]);
        const s = resolveSettings({ redis: { sentinel: { resources: { requests: { cpu: "100m" } } } } });
        assert.deepEqual(s.redis.sentinel.resources, { requests: { cpu: "100m", memory: "32Mi" }, limits: { memory: "128Mi" } });
    });

    it("derives an autoscaler's maximum from its minimum when the maximum is left out", () => {
        const values = { [`${PROJECT}:registry`]: JSON.stringify({ autoscaling: { minReplicas: 4 } }) };
        assert.deepEqual(parseSettings({ values }).registry.autoscaling, {
            minReplicas: 4,
            maxReplicas: 12,
            targetCpuUtilization: 70,
        });
    });

    it("the known keys are the schema's, secrets included", () => {
        assert.deepEqual(TOP_LEVEL_KEYS, [...Object.keys(SETTINGS.fields), "jwtSecret", "redisPassword"]);
        assert.deepEqual(SECRET_KEYS, Object.keys(SECRETS));
        assert.match(
            problemsOf({ redis: { sentinel: { quorum: 2 } } })[0],
            /unknown key \(allowed in redis\.sentinel: downAfterMilliseconds, failoverTimeout, resources\)$/,
        );
    });

    it("the parser enforces every integer range the schema declares", () => {
        const integers = leaves("", SETTINGS).filter((l): l is [string, IntegerSetting] => l[1].kind === "integer");
        assert.ok(integers.length >= 10, `only ${integers.length} integer settings`);
        for (const [path, s] of integers) {
            for (const bad of [s.min - 1, s.max + 1]) {
                const problems = problemsOf(nested(path, bad));
                const own = problems.filter((p) => p.startsWith(`${PROJECT}:${path}: ${bad} is outside ${s.min}-${s.max}`));
                assert.equal(own.length, 1, `${path} = ${bad}: ${problems.join("\n")}`);
            }
            const atMin = problemsOf(nested(path, s.min)).filter((p) => p.startsWith(`${PROJECT}:${path}: ${s.min} is outside`));
            assert.deepEqual(atMin, [], `${path} = ${s.min}`);
        }
    });
});

describe("Redis password rule", () => {
    it("asks for the minimum length and the characters the scripts accept", () => {
        const { minLength } = REDIS_PASSWORD_RULE;
        assert.equal(redisPasswordProblem("a".repeat(minLength)), undefined);
        assert.match(
            redisPasswordProblem("a".repeat(minLength - 1)) ?? "",
            /^must be at least 16 characters of letters, digits and \._~\+\/=@:,-/,
        );
        for (const bad of ["with a blank inside", 'with"a"quote-inside', "with$dollar-inside", "with\\backslash-inside"]) {
            assert.ok(!REDIS_PASSWORD_PATTERN.test(bad), bad);
            assert.notEqual(redisPasswordProblem(bad), undefined, bad);
        }
        assert.equal(redisPasswordProblem("Tr1cky/Pass=word+-_.~@:,"), undefined);
    });

    it("the generated password satisfies it", () => {
        assert.ok(SECRETS.redisPassword.generatedLength >= REDIS_PASSWORD_RULE.minLength);
    });
});
