/**
 * What the node agent runs for an image reference, without a registry: the image's files as
 * folders of this machine bound into the pod, its working directory, entrypoint and PATH.
 * - amalgam8/a8-controller, amalgam8/a8-registry (upstream) and <registry>/<owner>/a8-controller,
 *   a8-registry (the patched images): the binaries tools/amalgam8/build.sh builds;
 * - redis:*-alpine, haproxy:*-alpine: this machine's redis-server, redis-cli, redis-sentinel and
 *   haproxy (Debian's, under the read-only /usr every pod sees), with busybox as `sh` and `awk`, as
 *   the alpine images have them.
 */
import * as fs from "fs";
import * as path from "path";
import { AMALGAM8_IMAGES } from "../../loopback/amalgam8";
import { AMALGAM8_BINARY, Amalgam8Service, Amalgam8Variant, amalgam8ServiceDir } from "../../loopback/prerequisites";

export interface PodImage {
    /** Folders of this machine and where the pod sees them (read-only). */
    readonly binds: readonly (readonly [host: string, pod: string])[];
    readonly workdir: string;
    readonly entrypoint: readonly string[];
    /** The image's PATH (its Dockerfile's ENV). */
    readonly path: string;
}

export class ImageError extends Error {}

const ALPINE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const ALPINE_IMAGES: Record<string, { workdir: string; entrypoint: string[] }> = {
    redis: { workdir: "/data", entrypoint: ["redis-server"] },
    haproxy: { workdir: "/var/lib/haproxy", entrypoint: ["haproxy", "-f", "/usr/local/etc/haproxy/haproxy.cfg"] },
};

/** Pure: repository and tag of an image reference (a digest counts as the tag). */
export function splitImage(image: string): { repository: string; tag: string } {
    const at = image.indexOf("@");
    if (at >= 0) return { repository: image.slice(0, at), tag: image.slice(at + 1) };
    const colon = image.lastIndexOf(":");
    if (colon > image.lastIndexOf("/")) return { repository: image.slice(0, colon), tag: image.slice(colon + 1) };
    return { repository: image, tag: "latest" };
}

/** Pure: which Amalgam8 service and build an image reference names, or undefined. */
export function amalgam8Image(image: string): { service: Amalgam8Service; variant: Amalgam8Variant } | undefined {
    const { repository } = splitImage(image);
    for (const service of Object.keys(AMALGAM8_IMAGES) as Amalgam8Service[]) {
        const upstream = AMALGAM8_IMAGES[service].repository;
        if (repository === upstream || repository === `docker.io/${upstream}`) return { service, variant: "upstream" };
        if (repository.endsWith(`/${path.posix.basename(upstream)}`)) return { service, variant: "patched" };
    }
    return undefined;
}

/** A reference that names the patched build of a service, as the images workflow tags them (`<registry>/<owner>/a8-<service>`). */
export function patchedImage(service: Amalgam8Service): string {
    const { repository, tag } = AMALGAM8_IMAGES[service];
    return `ghcr.io/amalgam8-tests/${path.posix.basename(repository)}:${tag}`;
}

/**
 * What the alpine images run as busybox applets and this machine has only through /etc/alternatives
 * (which pods do not see) or not at all: `sh` is ash, `awk` busybox's.
 */
const BUSYBOX_APPLETS = ["sh", "awk"] as const;

export class ImageStore {
    private readonly shims: string;

    constructor(dir: string) {
        this.shims = path.join(dir, "alpine-shims");
        fs.mkdirSync(this.shims, { recursive: true });
        for (const applet of BUSYBOX_APPLETS) {
            const link = path.join(this.shims, applet);
            if (!fs.existsSync(link)) fs.symlinkSync("/usr/bin/busybox", link);
        }
    }

    /** The pod image for a reference; throws ImageError (the kubelet's ErrImagePull) for any other. */
    resolve(image: string): PodImage {
        const a8 = amalgam8Image(image);
        if (a8) {
            const workdir = AMALGAM8_IMAGES[a8.service].workdir;
            const dir = amalgam8ServiceDir(a8.variant, a8.service);
            if (!fs.existsSync(path.join(dir, AMALGAM8_BINARY[a8.service]))) {
                throw new ImageError(`${image}: the ${a8.variant} ${a8.service} is not built (npm run build:amalgam8)`);
            }
            return {
                binds: [[dir, workdir]],
                workdir,
                entrypoint: [path.posix.join(workdir, AMALGAM8_BINARY[a8.service])],
                path: ALPINE_PATH,
            };
        }
        const { repository, tag } = splitImage(image);
        const name = repository.replace(/^(docker\.io\/)?(library\/)?/, "");
        const alpine = ALPINE_IMAGES[name];
        if (alpine && tag.endsWith("-alpine")) return { binds: [[this.shims, "/usr/local/bin"]], ...alpine, path: ALPINE_PATH };
        throw new ImageError(`${image}: no such image here (known: the Amalgam8 images, redis:*-alpine, haproxy:*-alpine)`);
    }
}
