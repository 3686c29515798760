/**
 * Network namespaces that tests make (iproute2): a test cluster's own namespace (control plane,
 * node agent, pod bridge) and its pods' namespaces, the members of a partition lab. Names carry
 * the pid of the process that made them, so that namespaces left by a process that died are
 * recognised and removed by the next run.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import { onExit } from "../../cli/onExit";

const IP_TIMEOUT_MS = 10_000;
const NETNS_DIR = "/run/netns";

/** Runs `ip <args>`; throws with ip's own message. */
export function ip(...args: string[]): string {
    try {
        return execFileSync("ip", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: IP_TIMEOUT_MS });
    } catch (e) {
        const stderr = (e as { stderr?: string }).stderr?.trim();
        throw new Error(`ip ${args.join(" ")}: ${stderr || (e as Error).message}`, { cause: e });
    }
}

export const netnsPath = (name: string): string => `${NETNS_DIR}/${name}`;

/** The prefix of every namespace this project makes; `<prefix><pid>-...` names its owner. */
export const NETNS_PREFIX = "a8k-";

export function ownedNetnsName(kind: string, owner = process.pid): string {
    return `${NETNS_PREFIX}${owner}-${kind}`;
}

/** Pure: the owner pid of a namespace name this project made, or undefined. */
export function ownerOfNetns(name: string): number | undefined {
    const m = new RegExp(`^${NETNS_PREFIX}(\\d+)-`).exec(name);
    return m ? Number(m[1]) : undefined;
}

/** Whether a process with this pid exists (one of another user's counts). */
export function alive(pid: number): boolean {
    try {
        process.kill(pid, 0);
        return true;
    } catch (e) {
        return (e as NodeJS.ErrnoException).code === "EPERM";
    }
}

export function listNetns(): string[] {
    try {
        return fs.readdirSync(NETNS_DIR);
    } catch {
        return [];
    }
}

export function deleteNetns(name: string): void {
    created.delete(name);
    if (!fs.existsSync(netnsPath(name))) return;
    ip("netns", "delete", name);
}

/** Deletes a link of this namespace if it exists (deleting one end of a veth pair deletes both). */
export function deleteLinkIfPresent(name: string): void {
    // Not /sys/class/net: sysfs shows the namespace it was mounted in, not this process's.
    try {
        ip("link", "show", "dev", name);
    } catch {
        return;
    }
    ip("link", "delete", name);
}

/** The host end of a link into a namespace of this run: `a8h<pid>` (at most 15 characters). */
export function hostLinkName(owner = process.pid): string {
    return `a8h${owner}`;
}

/** Removes the namespaces, and the host ends of links into them, of owners that are gone; returns their names. */
export function removeOrphanNetns(): string[] {
    const orphan = (owner: number | undefined): boolean => owner !== undefined && owner !== process.pid && !alive(owner);
    const namespaces = listNetns().filter((n) => orphan(ownerOfNetns(n)));
    for (const n of namespaces) deleteNetns(n);
    const links = ip("-o", "link", "show")
        .split("\n")
        .map((line) => /^\d+: (a8h(\d+))[@:]/.exec(line))
        .filter((m): m is RegExpExecArray => m !== null && orphan(Number(m[2])))
        .map((m) => m[1]);
    for (const l of links) ip("link", "delete", l);
    return [...namespaces, ...links];
}

const created = new Set<string>();
let exitHookInstalled = false;

/** A new namespace with its loopback up, deleted by deleteNetns or when this process exits. */
export function createNetns(name: string): string {
    if (!exitHookInstalled) {
        exitHookInstalled = true;
        onExit(() => {
            for (const n of created) {
                try {
                    deleteNetns(n);
                } catch {
                    // the next run's removeOrphanNetns takes it
                }
            }
        });
    }
    ip("netns", "add", name);
    created.add(name);
    ip("-n", name, "link", "set", "lo", "up");
    return netnsPath(name);
}
