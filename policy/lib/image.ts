/**
 * Image references: how one splits into repository, tag and digest, and whether it pins what runs.
 * The pack's own reading (rel-image-pinned); the program reads stack settings with its own
 * (components/settings/image.ts), held to the same contract by tests/config/imageReference.test.ts.
 */

export interface ImageReference {
    /** Everything before the tag/digest, e.g. `docker.io/bitnami/redis`. */
    repository: string;
    tag?: string;
    digest?: string;
}

/** Splits `registry:5000/team/app:1.2@sha256:...` into repository, tag and digest. */
export function parseImageReference(image: string): ImageReference {
    let rest = image.trim();
    let digest: string | undefined;
    const at = rest.indexOf("@");
    if (at >= 0) {
        digest = rest.slice(at + 1);
        rest = rest.slice(0, at);
    }
    let tag: string | undefined;
    const lastColon = rest.lastIndexOf(":");
    if (lastColon > rest.lastIndexOf("/")) {
        tag = rest.slice(lastColon + 1);
        rest = rest.slice(0, lastColon);
    }
    return { repository: rest, tag, digest };
}

/** Last path segment of the image repository, lower-cased: `bitnami/redis:7` -> `redis`. */
export function imageName(image: unknown): string {
    if (typeof image !== "string") {
        return "";
    }
    const repo = parseImageReference(image).repository;
    return repo.slice(repo.lastIndexOf("/") + 1).toLowerCase();
}

/** What a reference may be made of, starting with a letter or digit. */
const REFERENCE_CHARACTERS = /^[A-Za-z0-9][A-Za-z0-9._\-/:@]*$/;
/** A registry host (with an optional port) in front of the path. */
const REGISTRY = /^[A-Za-z0-9.-]+(:\d+)?$/;
const PATH_COMPONENT = /^[A-Za-z0-9._-]+$/;

/** The first component names a registry when it looks like a host: `registry.example.com`, `host:5000`, `localhost`. */
function isRegistryLike(component: string): boolean {
    return component.includes(".") || component.includes(":") || component === "localhost";
}
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const DIGEST = /^sha256:[0-9a-f]{64}$/;

function isRepository(repository: string): boolean {
    const parts = repository.split("/");
    return parts.every((part, i) => (i === 0 && parts.length > 1 && isRegistryLike(part) ? REGISTRY : PATH_COMPONENT).test(part));
}

/** Why an image does not pin what runs; the reference comes with the problems that have one. */
export type ImageReferenceProblem =
    | { kind: "missing" }
    | { kind: "not-a-reference" }
    | { kind: "malformed-digest" | "no-digest" | "no-tag" | "invalid-tag" | "latest"; reference: ImageReference };

export interface ImagePinning {
    /** Only a `@sha256:` digest pins an image; a tag is not enough. */
    requireDigest?: boolean;
}

/**
 * The first problem of an image, or undefined when it names a release: a valid sha256 digest, or
 * (unless a digest is required) an explicit tag other than `latest` in any case.
 */
export function imageReferenceProblem(image: unknown, pinning: ImagePinning = {}): ImageReferenceProblem | undefined {
    if (typeof image !== "string" || image.trim() === "") {
        return { kind: "missing" };
    }
    const reference = parseImageReference(image);
    if (!REFERENCE_CHARACTERS.test(image) || !isRepository(reference.repository)) {
        return { kind: "not-a-reference" };
    }
    if (reference.digest !== undefined) {
        return DIGEST.test(reference.digest) ? undefined : { kind: "malformed-digest", reference };
    }
    if (pinning.requireDigest) {
        return { kind: "no-digest", reference };
    }
    if (!reference.tag) {
        // `redis:` names no tag either.
        return { kind: "no-tag", reference };
    }
    if (!TAG.test(reference.tag)) {
        return { kind: "invalid-tag", reference };
    }
    return reference.tag.toLowerCase() === "latest" ? { kind: "latest", reference } : undefined;
}
