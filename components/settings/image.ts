/**
 * The program's own reading of an image reference, after the grammar of the distribution project
 * (`[domain[:port]/]path[:tag][@digest]`, lower-case path components). The policy pack reads
 * references with code of its own (policy/lib/image.ts), so that it stays an independent check of
 * what the program renders; tests/config/imageReference.test.ts holds them to one contract:
 * every image the program accepts, the pack accepts.
 */

const DOMAIN_PART = "[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?";
const DOMAIN = `(?:${DOMAIN_PART}(?:\\.${DOMAIN_PART})*(?::[0-9]+)?|localhost(?::[0-9]+)?)`;
const PATH_PART = "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
const NAME = new RegExp(`^(?:${DOMAIN}/)?${PATH_PART}(?:/${PATH_PART})*$`);
const TAG = /^\w[\w.-]{0,127}$/;
const DIGEST = /^sha256:[0-9a-f]{64}$/;

/**
 * Why `image` does not pin a release, worded for a stack setting; undefined when it names one: a
 * sha256 digest, or an explicit tag other than `latest` (an untagged image is `latest`, which
 * changes under a running deployment).
 */
export function imageProblem(image: string): string | undefined {
    const [beforeDigest, digest, ...more] = image.split("@");
    if (more.length > 0) return "is not an image reference";
    const slash = beforeDigest.lastIndexOf("/");
    const colon = beforeDigest.lastIndexOf(":");
    // A colon after the last slash starts the tag; one before it is a registry's port.
    const name = colon > slash ? beforeDigest.slice(0, colon) : beforeDigest;
    const tag = colon > slash ? beforeDigest.slice(colon + 1) : undefined;
    if (!NAME.test(name)) return "is not an image reference";
    if (tag !== undefined && tag !== "" && !TAG.test(tag)) return "has an invalid tag";
    if (digest !== undefined) return DIGEST.test(digest) ? undefined : "has a malformed digest (use @sha256: and 64 lower-case hex digits)";
    if (tag === undefined || tag === "") return "has no tag (pin a version, e.g. name:1.2.3)";
    return tag.toLowerCase() === "latest" ? "is tagged latest (pin a version, e.g. name:1.2.3)" : undefined;
}
