/**
 * What the processes of a test cluster's containers really run with, read from /proc: the node agent
 * runs each container as confined processes of this machine and names their leader in the pod's
 * `containerID`.
 */
import * as fs from "fs";
import { pidOfContainerId } from "./agent/podStatus";

/** Pure: the parent pid in the text of /proc/<pid>/stat (the command may hold spaces and parentheses). */
export function parentOfStat(stat: string): number {
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return Number(fields[1]);
}

function children(): Map<number, number[]> {
    const byParent = new Map<number, number[]>();
    for (const entry of fs.readdirSync("/proc")) {
        if (!/^\d+$/.test(entry)) continue;
        let stat: string;
        try {
            stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
        } catch {
            continue; // gone meanwhile
        }
        const parent = parentOfStat(stat);
        byParent.set(parent, [...(byParent.get(parent) ?? []), Number(entry)]);
    }
    return byParent;
}

function commOf(pid: number): string {
    try {
        return fs.readFileSync(`/proc/${pid}/comm`, "utf8").trim();
    } catch {
        return "";
    }
}

/**
 * The process a container's entrypoint became, under the leader its containerID names (nsenter,
 * then bwrap, bwrap's init in the pod's pid namespace, setpriv exec'ing the entrypoint): the one
 * named `command` (what /proc/<pid>/comm says) when given, else the only leaf.
 */
export function containerProcess(containerId: unknown, command?: string): number {
    const leader = pidOfContainerId(containerId);
    if (leader === undefined) throw new Error(`containerID ${JSON.stringify(containerId)} names no process of this machine`);
    const tree = children();
    if (command !== undefined) {
        const queue = [leader];
        while (queue.length > 0) {
            const pid = queue.shift() as number;
            if (commOf(pid) === command) return pid;
            queue.push(...(tree.get(pid) ?? []));
        }
        throw new Error(`container ${String(containerId)} runs no process named ${command}`);
    }
    let pid = leader;
    for (;;) {
        const next = tree.get(pid) ?? [];
        if (next.length === 0) return pid;
        if (next.length > 1)
            throw new Error(`process ${pid} of container ${String(containerId)} has ${next.length} children: ${next.join(", ")}`);
        pid = next[0];
    }
}

/** Pure: the fields of /proc/<pid>/status. */
export function statusFields(text: string): Record<string, string> {
    return Object.fromEntries(
        text
            .split("\n")
            .filter((l) => l.includes(":"))
            .map((l) => [l.slice(0, l.indexOf(":")), l.slice(l.indexOf(":") + 1).trim()]),
    );
}

/** What the kernel says a process runs as: ids, capability bounding set, no_new_privs and whether / is read-only. */
export interface ProcessConfinement {
    readonly uid: number;
    readonly gid: number;
    readonly capabilityBoundingSet: bigint;
    readonly noNewPrivs: boolean;
    readonly readOnlyRoot: boolean;
}

export function confinementOfProcess(pid: number): ProcessConfinement {
    const status = statusFields(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
    const root = fs
        .readFileSync(`/proc/${pid}/mountinfo`, "utf8")
        .split("\n")
        .find((l) => l.split(" ")[4] === "/");
    if (!root) throw new Error(`process ${pid} has no root mount`);
    return {
        uid: Number(status.Uid.split(/\s+/)[0]),
        gid: Number(status.Gid.split(/\s+/)[0]),
        capabilityBoundingSet: BigInt(`0x${status.CapBnd}`),
        noNewPrivs: status.NoNewPrivs === "1",
        readOnlyRoot: root.split(" ")[5].split(",").includes("ro"),
    };
}
