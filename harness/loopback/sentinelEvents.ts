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

/** How soon a subscription that a fault or a restart closed is opened again. */
const RESUBSCRIBE_MS = 500;

/**
 * Subscribes to every Sentinel's event channels and keeps a timeline; a subscription that a
 * partition or a restart closes is opened again until stop().
 */
export class SentinelEvents {
    readonly events: SentinelEvent[] = [];
    private readonly subs = new Set<Redis>();
    private readonly retries = new Set<NodeJS.Timeout>();
    private running = false;

    constructor(private readonly cluster: LayoutTopology) {}

    /** Resolves once every Sentinel is subscribed to. */
    async start(): Promise<void> {
        this.running = true;
        try {
            for (let s = 0; s < this.cluster.nodeCount; s++) await this.subscribe(s);
        } catch (e) {
            this.stop();
            throw e;
        }
    }

    private async subscribe(s: number): Promise<void> {
        const c = connect(this.cluster.sentinelEndpoint(s), this.cluster.password, 2000);
        this.subs.add(c);
        c.on("pmessage", (_pattern: string, channel: string, message: string) => {
            this.events.push({ t: Date.now(), sentinel: s, channel, message });
        });
        c.once("end", () => {
            this.subs.delete(c);
            if (!this.running) return;
            const retry = setTimeout(() => {
                this.retries.delete(retry);
                if (this.running) this.subscribe(s).catch(() => undefined);
            }, RESUBSCRIBE_MS);
            this.retries.add(retry);
        });
        await c.connect();
        await c.psubscribe("*");
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
        this.running = false;
        for (const t of this.retries) clearTimeout(t);
        this.retries.clear();
        for (const c of this.subs) c.disconnect();
        this.subs.clear();
    }
}
