/**
 * The pod a service runs in, made of Linux tools:
 * - bwrap: own mount, pid, ipc, uts and network namespaces; a root holding only the image layout
 *   (read-only), /proc, /dev, the pod's declared volumes and /usr read-only (for setpriv); the
 *   root is remounted read-only when readOnlyRootFilesystem is set;
 * - setpriv (bwrap's direct child, exec'ing the service): the rendered uid/gid and fsGroup, the
 *   capability bounding set the spec leaves, no_new_privs when allowPrivilegeEscalation is false.
 * The pod's network namespace holds only its loopback. Relays (relay.js) connect it to the
 * caller's 127.0.0.1 through unix sockets, one route per listening address.
 */
import type { ChildProcess } from "child_process";
import * as fs from "fs";
import * as path from "path";
import type { IContainer } from "kubernetes-models/v1/Container";
import type { IPodSpec } from "kubernetes-models/v1/PodSpec";
import { Confinement, SpecError } from "./kubelet";
import { ManagedProcess, launch } from "../../cli/process";

const RELAY_SCRIPT = path.join(__dirname, "relay.js");

/** One relay listener (TCP `host`/`port` or unix socket `path`) and where it forwards each connection. */
export interface Route {
    readonly listen: { host?: string; port?: number; path?: string };
    readonly connect: { host?: string; port?: number; path?: string };
}

/**
 * Starts relay.js with `routes` and waits until it listens: inside the network namespace of a
 * process (`netns` a pid) or a named one (`netns` its path) when given.
 */
export async function startRelay(
    name: string,
    routes: readonly Route[],
    logFile: string,
    netns?: number | string,
): Promise<ManagedProcess> {
    const node = process.execPath;
    const nsFile = typeof netns === "number" ? `/proc/${netns}/ns/net` : netns;
    const [cmd, args] =
        nsFile === undefined
            ? [node, [RELAY_SCRIPT, JSON.stringify(routes)]]
            : ["nsenter", [`--net=${nsFile}`, "--", node, RELAY_SCRIPT, JSON.stringify(routes)]];
    const { process: relay } = launch(name, cmd, args, { env: { PATH: process.env.PATH ?? "" }, logFile, pipeStdout: true });
    await relay.waitForOutput(/ready/, 10000);
    return relay;
}

/** The pid bwrap reports on its info fd (fd 3): its reaper, pid 1 of the pod's pid namespace. */
export function readInfoFd(child: ChildProcess, timeoutMs: number): Promise<number> {
    return new Promise((resolve, reject) => {
        const stream = child.stdio[3] as NodeJS.ReadableStream | null;
        if (!stream) return reject(new Error("bwrap: no info fd"));
        let text = "";
        const timer = setTimeout(() => reject(new Error(`bwrap reported no child pid within ${timeoutMs} ms`)), timeoutMs);
        const done = (): void => {
            const m = /"child-pid":\s*(\d+)/.exec(text);
            clearTimeout(timer);
            if (m) resolve(Number(m[1]));
            else reject(new Error(`bwrap exited before starting the service: ${text.trim() || "(no info)"}`));
        };
        stream.on("data", (d: Buffer) => {
            text += d.toString();
            if (/"child-pid":\s*\d+/.test(text)) done();
        });
        stream.on("end", done);
    });
}

/** Where an image keeps its files in the pod, and the program it runs when the container names no command. */
export interface ImageLayout {
    readonly workdir: string;
    readonly entrypoint: string;
}

/** bwrap arguments that give the sandbox this machine's /usr (and the merged-/usr links) read-only. */
export function systemBinds(): string[] {
    const args = ["--ro-bind", "/usr", "/usr"];
    for (const dir of ["/lib", "/lib64", "/bin"]) {
        // Debian's merged /usr: these are symlinks into /usr; setpriv needs its loader and libraries.
        if (!fs.existsSync(dir)) continue;
        if (fs.lstatSync(dir).isSymbolicLink()) args.push("--symlink", fs.readlinkSync(dir), dir);
        else args.push("--ro-bind", dir, dir);
    }
    return args;
}

/** The setpriv command (bwrap's direct child) that applies a container's confinement, up to `--`. */
export function setprivArgs(confinement: Confinement): string[] {
    const caps =
        confinement.capabilities.length === 0 ? "-all" : ["-all", ...confinement.capabilities.map((x) => `+${x.toLowerCase()}`)].join(",");
    return [
        "/usr/bin/setpriv",
        `--reuid=${confinement.uid}`,
        `--regid=${confinement.gid}`,
        ...(confinement.groups.length > 0 ? [`--groups=${confinement.groups.join(",")}`] : ["--clear-groups"]),
        "--inh-caps=-all",
        `--bounding-set=${caps}`,
        ...(confinement.noNewPrivs ? ["--no-new-privs"] : []),
        "--",
    ];
}

/** bwrap + setpriv arguments for an image laid out in `layoutDir` on this machine. */
export function sandboxArgs(
    image: ImageLayout,
    layoutDir: string,
    confinement: Confinement,
    mounts: readonly string[],
    container: IContainer,
): string[] {
    const args = ["--die-with-parent", "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--hostname", container.name];
    args.push(...systemBinds());
    args.push(
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--dir",
        path.posix.dirname(image.workdir),
        "--ro-bind",
        layoutDir,
        image.workdir,
        ...mounts,
    );
    args.push("--chdir", container.workingDir ?? image.workdir);
    if (confinement.readOnlyRoot) args.push("--remount-ro", "/");
    args.push("--info-fd", "3");
    args.push(...setprivArgs(confinement));
    args.push(...(container.command ?? [image.entrypoint]), ...(container.args ?? []));
    return args;
}

/** bwrap mounts for the container's volumeMounts; only emptyDir volumes are supported. */
export function volumeMounts(container: IContainer, pod: IPodSpec, dir: string): string[] {
    const out: string[] = [];
    for (const m of container.volumeMounts ?? []) {
        const v = (pod.volumes ?? []).find((x) => x.name === m.name);
        if (!v) throw new SpecError(`container ${container.name}: volumeMount "${m.name}" names no volume of the pod`);
        if (!v.emptyDir) throw new SpecError(`volume "${m.name}": only emptyDir volumes are supported here`);
        if (v.emptyDir.medium === "Memory") {
            out.push("--tmpfs", m.mountPath);
        } else {
            const host = path.join(dir, "volumes", m.name);
            fs.mkdirSync(host, { recursive: true, mode: 0o777 });
            fs.chmodSync(host, 0o777);
            out.push(m.readOnly ? "--ro-bind" : "--bind", host, m.mountPath);
        }
    }
    return out;
}
