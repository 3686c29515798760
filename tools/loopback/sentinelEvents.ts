/**
 * Every Sentinel's event channels, recorded as a timeline: when the Sentinels switched the master
 * and from which node to which.
 */
import Redis from "ioredis";
import { connect } from "./redisClient";
import { LayoutTopology } from "./redisTopology";

export interface SentinelEvent {
    t: number;
    sentinel: number;
    channel: string;
    message: string;
}

export interface MasterSwitch {
    t: number;
    from: number | undefined;
    to: number | undefined;
}

/** Subscribes to every Sentinel's event channels and keeps a timeline. */
export class SentinelEvents {
    readonly events: SentinelEvent[] = [];
    private readonly subs: Redis[] = [];

    constructor(private readonly cluster: LayoutTopology) {}

    async start(): Promise<void> {
        for (let s = 0; s < this.cluster.nodeCount; s++) {
            const c = connect(this.cluster.sentinelEndpoint(s), this.cluster.password, 2000);
            this.subs.push(c);
            await c.connect();
            c.on("pmessage", (_pattern: string, channel: string, message: string) => {
                this.events.push({ t: Date.now(), sentinel: s, channel, message });
            });
            await c.psubscribe("*");
        }
    }

    /** Master switches, each at the earliest time any Sentinel announced it. */
    switches(): MasterSwitch[] {
        const out: MasterSwitch[] = [];
        for (const e of [...this.events].sort((a, b) => a.t - b.t)) {
            if (e.channel !== "+switch-master") continue;
            // "<name> <old-host> <old-port> <new-host> <new-port>"
            const w = e.message.split(" ");
            const sw = { t: e.t, from: this.cluster.nodeOfPort(Number(w[2])), to: this.cluster.nodeOfPort(Number(w[4])) };
            // The other Sentinels repeat the same switch within moments.
            const dup = out.some((o) => o.from === sw.from && o.to === sw.to && sw.t - o.t < 5000);
            if (!dup) out.push(sw);
        }
        return out;
    }

    timeline(since: number): string {
        return this.events
            .filter((e) => e.t >= since && !e.channel.startsWith("__"))
            .map((e) => `+${((e.t - since) / 1000).toFixed(2)}s s${e.sentinel} ${e.channel} ${e.message}`)
            .join("\n");
    }

    stop(): void {
        for (const c of this.subs) c.disconnect();
        this.subs.length = 0;
    }
}
