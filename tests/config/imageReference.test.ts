/**
 * The program and the policy pack read image references with code of their own, so that the pack
 * is an independent check of what the program renders. Their contract: every image the program
 * accepts in a stack setting, the pack accepts too (rel-image-pinned), and what the program refuses
 * for not pinning a release (no tag, latest) the pack refuses for the same reason.
 */
import { strict as assert } from "assert";
import { imageProblem } from "../../components/settings/image";
import { DEFAULTS } from "../../components/config";
import { imageReferenceProblem } from "../../policy/lib/image";

const digest = `sha256:${"a".repeat(64)}`;
const CORPUS = [
    DEFAULTS.controller.image,
    DEFAULTS.registry.image,
    DEFAULTS.redis.image,
    DEFAULTS.redis.haproxy.image,
    "redis:7.2.5-alpine",
    "registry.example.com:5000/team/a8-controller:1.1.0",
    "localhost:5000/a8_registry:1.1.0",
    "my_team/a8-registry:1.1.0",
    "Registry.Example.com/team/redis:7",
    `amalgam8/a8-controller@${digest}`,
    `amalgam8/a8-controller:1.1.0@${digest}`,
    "redis 7",
    "-redis:7",
    "a:b:c",
    "team//redis:7",
    "Team/Redis:7",
    "registry.example.com:port/redis:7",
    "redis@sha256:abc",
    `redis@sha256:${"A".repeat(64)}`,
    `redis@${digest}@${digest}`,
    "registry.example.com:5000/team/a8-controller",
    "redis",
    "redis:",
    "redis:-7",
    `redis:${"7".repeat(129)}`,
    "redis:latest",
    "redis:LATEST",
];

describe("image references: the program's reading against the pack's", () => {
    it("every image the program accepts, the pack accepts", () => {
        const accepted = CORPUS.filter((image) => imageProblem(image) === undefined);
        assert.ok(accepted.length >= 6, `only ${accepted.length} accepted: the corpus tests nothing`);
        for (const image of accepted) assert.equal(imageReferenceProblem(image)?.kind, undefined, image);
    });

    it("both refuse an image that pins no release, for that reason", () => {
        const unpinned = { "no-tag": /no tag/, latest: /latest/ } as const;
        let checked = 0;
        for (const image of CORPUS) {
            const kind = imageReferenceProblem(image)?.kind;
            if (kind !== "no-tag" && kind !== "latest") continue;
            assert.match(imageProblem(image) ?? "", unpinned[kind], image);
            checked += 1;
        }
        assert.ok(checked >= 4, `only ${checked} unpinned images in the corpus`);
    });

    it("the program refuses what is no reference, and says which problem it has", () => {
        assert.equal(imageProblem("redis 7"), "is not an image reference");
        assert.equal(imageProblem("Team/Redis:7"), "is not an image reference");
        assert.match(imageProblem("redis@sha256:abc") ?? "", /malformed digest/);
        assert.match(imageProblem("redis:-7") ?? "", /invalid tag/);
        assert.equal(imageProblem("registry.example.com:5000/team/a8-controller:1.1.0"), undefined);
    });
});
