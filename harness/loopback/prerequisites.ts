/**
 * What the loopback tests and benchmarks need on the machine: each binary and what provides it
 * (the Debian packages in debian-packages.json, which .ci/run installs from; the Amalgam8 builds
 * by npm run build:amalgam8). A check names every missing one and its provider in one message.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { REPO_ROOT } from "../../cli/repoRoot";

export type Amalgam8Variant = "upstream" | "patched";
export type Amalgam8Service = "controller" | "registry";

/** Where tools/amalgam8/build.sh lays out its patch series variant, and how to build it. */
const PATCH_SERIES_DIR = "images/amalgam8/patches";
const BUILD_SCRIPT = path.join("tools", "amalgam8", "build.sh");

const BUILD_COMMAND: Record<Amalgam8Variant, string> = {
    upstream: "npm run build:amalgam8",
    patched: `npm run build:amalgam8 -- --patches ${PATCH_SERIES_DIR}`,
};

/** Binary name inside each service's image (docker/Dockerfile.<service> upstream). */
export const AMALGAM8_BINARY: Record<Amalgam8Service, string> = { controller: "a8controller", registry: "a8registry" };

const variantDirs = new Map<Amalgam8Variant, string>();

/** The folder build.sh lays a variant out in (it owns that location; asked once per run). */
function amalgam8VariantDir(variant: Amalgam8Variant): string {
    let dir = variantDirs.get(variant);
    if (dir === undefined) {
        const r = spawnSync("bash", [path.join(REPO_ROOT, BUILD_SCRIPT), "--variant-dir", variant], { encoding: "utf8" });
        if (r.status !== 0) throw new Error(`${BUILD_SCRIPT} --variant-dir ${variant} failed: ${r.stderr.trim()}`);
        dir = r.stdout.trim();
        variantDirs.set(variant, dir);
    }
    return dir;
}

/** Builds the binaries of a variant with build.sh (a no-op when they are up to date); its output goes to stderr. */
export function buildAmalgam8(variant: Amalgam8Variant): void {
    const patches = variant === "patched" ? ["--patches", path.join(REPO_ROOT, PATCH_SERIES_DIR)] : [];
    const args = [path.join(REPO_ROOT, BUILD_SCRIPT), ...patches];
    const r = spawnSync("bash", args, { stdio: ["ignore", process.stderr, process.stderr], timeout: 15 * 60 * 1000 });
    if (r.status !== 0) throw new Error(`${BUILD_SCRIPT} ${args.slice(1).join(" ")} failed (exit ${String(r.status)})`);
}

/** Where a service's image-like layout (binary, locales/, rules-schema.json) is. */
export function amalgam8ServiceDir(variant: Amalgam8Variant, service: Amalgam8Service): string {
    return path.join(amalgam8VariantDir(variant), service);
}

export interface Prerequisite {
    /** What is needed, as the user would look for it. */
    readonly name: string;
    /** What provides it: a Debian package or a project command. */
    readonly provider: string;
    readonly present: () => boolean;
}

function onPath(bin: string): boolean {
    return spawnSync("sh", ["-c", 'command -v "$1"', "sh", bin], { stdio: "ignore" }).status === 0;
}

export const DEBIAN_PACKAGES: Record<string, string> = JSON.parse(fs.readFileSync(path.join(__dirname, "debian-packages.json"), "utf8"));

const debianBinary = (bin: string): Prerequisite => {
    const pkg = DEBIAN_PACKAGES[bin];
    if (pkg === undefined) throw new Error(`debian-packages.json names no package for ${bin}`);
    return { name: bin, provider: `Debian package ${pkg}`, present: () => onPath(bin) };
};

const amalgam8Binary = (variant: Amalgam8Variant, service: Amalgam8Service): Prerequisite => ({
    name: `${AMALGAM8_BINARY[service]} (${variant} build)`,
    provider: BUILD_COMMAND[variant],
    present: () => {
        try {
            fs.accessSync(path.join(amalgam8ServiceDir(variant, service), AMALGAM8_BINARY[service]), fs.constants.X_OK);
            return true;
        } catch {
            return false;
        }
    },
});

export const PREREQUISITES = {
    redisServer: debianBinary("redis-server"),
    redisSentinel: debianBinary("redis-sentinel"),
    redisCli: debianBinary("redis-cli"),
    haproxy: debianBinary("haproxy"),
    bwrap: debianBinary("bwrap"),
    setpriv: debianBinary("setpriv"),
    nsenter: debianBinary("nsenter"),
    ip: debianBinary("ip"),
    go: debianBinary("/usr/lib/go/bin/go"),
    root: {
        name: "root (bwrap and setpriv switch to the rendered uid/gid and mount namespaces)",
        provider: "running the tests as root, e.g. sudo -E npm test",
        present: () => process.getuid?.() === 0,
    },
    controllerUpstream: amalgam8Binary("upstream", "controller"),
    registryUpstream: amalgam8Binary("upstream", "registry"),
    controllerPatched: amalgam8Binary("patched", "controller"),
    registryPatched: amalgam8Binary("patched", "registry"),
} satisfies Record<string, Prerequisite>;

/** The Redis HA cluster: Redis, Sentinel and HAProxy. */
export const REDIS_HA_PREREQUISITES: readonly Prerequisite[] = [
    PREREQUISITES.redisServer,
    PREREQUISITES.redisSentinel,
    PREREQUISITES.redisCli,
    PREREQUISITES.haproxy,
];

/** The Redis HA cluster on a partition lab: a namespace per node and HAProxy. */
export const PARTITION_LAB_PREREQUISITES: readonly Prerequisite[] = [
    ...REDIS_HA_PREREQUISITES,
    PREREQUISITES.ip,
    PREREQUISITES.nsenter,
    PREREQUISITES.root,
];

/** Confining a service like its pod's security context does. */
export const CONFINEMENT_PREREQUISITES: readonly Prerequisite[] = [
    PREREQUISITES.bwrap,
    PREREQUISITES.setpriv,
    PREREQUISITES.nsenter,
    PREREQUISITES.root,
];

export function amalgam8Prerequisites(variant: Amalgam8Variant): readonly Prerequisite[] {
    return variant === "upstream"
        ? [PREREQUISITES.controllerUpstream, PREREQUISITES.registryUpstream]
        : [PREREQUISITES.controllerPatched, PREREQUISITES.registryPatched];
}

class MissingPrerequisites extends Error {}

/** The message naming every missing prerequisite and its provider, or undefined when none is missing. */
export function missingPrerequisitesMessage(needed: readonly Prerequisite[], purpose: string): string | undefined {
    const missing = [...new Set(needed)].filter((p) => !p.present());
    if (missing.length === 0) return undefined;
    const packages = [
        ...new Set(missing.map((p) => /^Debian package (\S+)$/.exec(p.provider)?.[1]).filter((p): p is string => p !== undefined)),
    ];
    const lines = missing.map((p) => `  - ${p.name}: ${p.provider}`);
    if (packages.length > 0) lines.push(`  (apt-get install -y ${packages.join(" ")})`);
    return `${purpose} needs what is missing here:\n${lines.join("\n")}`;
}

/** Throws one MissingPrerequisites naming every missing prerequisite and its provider. */
export function requirePrerequisites(needed: readonly Prerequisite[], purpose: string): void {
    const message = missingPrerequisitesMessage(needed, purpose);
    if (message !== undefined) throw new MissingPrerequisites(message);
}
