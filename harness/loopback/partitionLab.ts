/**
 * A network that tests can partition. Each member (a Redis node with its Sentinel, an HAProxy) is a
 * network namespace of its own with one address on a data network: a veth pair joins it to a
 * bridge in the lab's own namespace. A partition moves members' links onto separate bridges, so
 * that the sides cannot reach each other (packets are dropped, connections hang, as when a link
 * or a switch fails); a cut between two groups black-holes the routes between them only, so that
 * a third group still reaches both (a partition that is not transitive); a flap takes one
 * member's link down or up; heal puts every link back on one bridge and removes every cut. The
 * test process stays outside: it reaches a member's ports through a portal (unix sockets into the
 * namespace), which no partition cuts.
 *
 * Every namespace is named after this process (netns.ts), deleted by destroy() or when the
 * process exits, and removed by the next run if the process died.
 */
import { createNetns, deleteNetns, ip, netnsPath, ownedNetnsName, removeOrphanNetns } from "./netns";
import { Endpoint } from "../../cli/process";
import { Portal, openPortal } from "./portal";

/** The data network inside every lab; it exists only inside the lab's namespaces. */
const LAB_SUBNET = "10.250.0";
const FIRST_HOST = 10;
const PREFIX_LENGTH = 24;

let labs = 0;

export class PartitionLab {
    private readonly portals: Portal[] = [];
    /** Black-hole routes of cuts: [member whose namespace holds it, address it drops]. */
    private cuts: [string, string][] = [];
    private bridges = 0;
    private destroyed = false;

    private constructor(
        /** The namespace holding the bridges and the lab ends of the links. */
        private readonly hub: string,
        readonly members: readonly string[],
        private readonly namespaces: ReadonlyMap<string, string>,
    ) {}

    /** A namespace per member, each with its address, all on one bridge. */
    static create(members: readonly string[]): PartitionLab {
        if (new Set(members).size !== members.length) throw new Error(`partition lab: duplicate member in ${members.join(", ")}`);
        removeOrphanNetns();
        const id = `lab${++labs}`;
        const hub = ownedNetnsName(id);
        const namespaces = new Map(members.map((m) => [m, ownedNetnsName(`${id}-${m}`)]));
        const lab = new PartitionLab(hub, members, namespaces);
        try {
            createNetns(hub);
            lab.bridge(0);
            members.forEach((member, i) => {
                const ns = lab.namespace(member);
                createNetns(ns);
                ip("-n", hub, "link", "add", lab.link(member), "type", "veth", "peer", "name", "eth0", "netns", ns);
                ip("-n", hub, "link", "set", lab.link(member), "master", "side0", "up");
                ip("-n", ns, "addr", "add", `${LAB_SUBNET}.${FIRST_HOST + i}/${PREFIX_LENGTH}`, "dev", "eth0");
                ip("-n", ns, "link", "set", "eth0", "up");
            });
        } catch (e) {
            void lab.destroy();
            throw e;
        }
        return lab;
    }

    /** The member's address on the data network. */
    address(member: string): string {
        return `${LAB_SUBNET}.${FIRST_HOST + this.indexOf(member)}`;
    }

    /** The member's namespace file, for `nsenter --net=`. */
    netnsPath(member: string): string {
        return netnsPath(this.namespace(member));
    }

    /** `nsenter` arguments that run `cmd args` in the member's namespace (nsenter execs it: the pid is the command's). */
    inside(member: string, cmd: string, args: readonly string[]): [cmd: string, args: string[]] {
        return ["nsenter", [`--net=${this.netnsPath(member)}`, "--", cmd, ...args]];
    }

    /** 127.0.0.1 endpoints of this process that reach the member's loopback ports. */
    async reach(member: string, ports: readonly number[], dir: string): Promise<readonly Endpoint[]> {
        const portal = await openPortal(
            this.netnsPath(member),
            dir,
            ports.map((port) => ({ host: "127.0.0.1", port })),
        );
        this.portals.push(portal);
        return portal.endpoints;
    }

    /**
     * Splits the members into sides that cannot reach each other; members named in no side form
     * one more side of their own. Replaces any partition before it.
     */
    partition(...sides: readonly (readonly string[])[]): void {
        const named = sides.flat();
        for (const m of named) this.indexOf(m);
        if (new Set(named).size !== named.length) throw new Error(`partition lab: a member is on two sides: ${named.join(", ")}`);
        const rest = this.members.filter((m) => !named.includes(m));
        const all = rest.length > 0 ? [...sides, rest] : sides;
        all.forEach((side, k) => {
            this.bridge(k);
            for (const m of side) ip("-n", this.hub, "link", "set", this.link(m), "master", `side${k}`);
        });
    }

    /**
     * Members of `a` and members of `b` can no longer reach each other (each drops the other's
     * address); everyone else still reaches both. Adds to any partition or cut before it.
     */
    cutBetween(a: readonly string[], b: readonly string[]): void {
        for (const m of [...a, ...b]) this.indexOf(m);
        if (a.some((m) => b.includes(m)))
            throw new Error(`partition lab: a member is on both sides of a cut: ${a.join(", ")} | ${b.join(", ")}`);
        for (const [from, to] of [...a.flatMap((x) => b.map((y) => [x, y])), ...b.flatMap((y) => a.map((x) => [y, x]))]) {
            const address = this.address(to);
            ip("-n", this.namespace(from), "route", "add", "blackhole", `${address}/32`);
            this.cuts.push([from, address]);
        }
    }

    /** Every link back on one bridge and up, and no cut. */
    heal(): void {
        for (const [from, address] of this.cuts) ip("-n", this.namespace(from), "route", "del", "blackhole", `${address}/32`);
        this.cuts = [];
        for (const m of this.members) {
            ip("-n", this.hub, "link", "set", this.link(m), "master", "side0");
            this.setLink(m, true);
        }
    }

    /** Takes the member's link down (nothing reaches it) or up. */
    setLink(member: string, up: boolean): void {
        ip("-n", this.hub, "link", "set", this.link(member), up ? "up" : "down");
    }

    /** Closes the portals and deletes every namespace (stop the members' processes first). */
    async destroy(): Promise<void> {
        if (this.destroyed) return;
        this.destroyed = true;
        for (const p of this.portals) await p.close();
        for (const ns of this.namespaces.values()) deleteNetns(ns);
        deleteNetns(this.hub);
    }

    private bridge(k: number): void {
        for (; this.bridges <= k; this.bridges++) {
            ip("-n", this.hub, "link", "add", `side${this.bridges}`, "type", "bridge");
            ip("-n", this.hub, "link", "set", `side${this.bridges}`, "up");
        }
    }

    private indexOf(member: string): number {
        const i = this.members.indexOf(member);
        if (i < 0) throw new Error(`partition lab: no member ${member} (members: ${this.members.join(", ")})`);
        return i;
    }

    private namespace(member: string): string {
        return this.namespaces.get(this.members[this.indexOf(member)]) as string;
    }

    /** The lab end of the member's veth pair (interface names have at most 15 characters). */
    private link(member: string): string {
        return `m${this.indexOf(member)}`;
    }
}
