/**
 * The durable-write check of a drill: one tagged routing rule written per round, every write the
 * controller acknowledged (201 with an id) remembered in the ledger (ledger.ts), and every read
 * judged by it. A rule acknowledged and later missing is a lost write; a read that answers 200
 * without an acknowledged rule, or with a lower revision than seen before, is a wrong answer.
 */
import { Ledger, contradiction, missingOf } from "./ledger";

export interface LedgerCounts {
    writesAcknowledged: number;
    writesFailed: number;
    readsOk: number;
    readsFailed: number;
    /** 200 answers that missed an acknowledged rule or went back in revision. */
    readsWrong: number;
    /** Acknowledged rules missing from the final read (after the drill, once the controller answers). */
    acknowledgedLost: number;
    /** Rules of the drill present at the end that the controller never acknowledged (a failed answer that was applied anyway). */
    appliedWithoutAcknowledgement: number;
    /** Whether the final read succeeded at all; without it, nothing can be said about losses. */
    verified: boolean;
}

export interface LedgerEvent {
    readonly atMs: number;
    readonly what: string;
}

export interface HttpAnswer {
    readonly status: number;
    readonly body: unknown;
}

/** Sends one request; resolves with the status and parsed JSON body, rejects on a transport error. */
export type Http = (method: "GET" | "POST" | "DELETE", path: string, body?: unknown) => Promise<HttpAnswer>;

function snippet(body: unknown): string {
    return (typeof body === "string" ? body : (JSON.stringify(body) ?? "")).slice(0, 120);
}

export class RuleLedger {
    private readonly ledger = new Ledger();
    private seq = 0;
    private readonly counts: LedgerCounts = {
        writesAcknowledged: 0,
        writesFailed: 0,
        readsOk: 0,
        readsFailed: 0,
        readsWrong: 0,
        acknowledgedLost: 0,
        appliedWithoutAcknowledgement: 0,
        verified: false,
    };
    readonly events: LedgerEvent[] = [];
    /** When each acknowledged write was answered (ms since the epoch), in order. */
    readonly acknowledgedAt: number[] = [];

    constructor(
        readonly tag: string,
        private readonly http: Http,
        private readonly startedAt = Date.now(),
    ) {}

    get summary(): LedgerCounts {
        return { ...this.counts };
    }

    private note(what: string): void {
        // Keep the first ones: they show when a fault started to show.
        if (this.events.length < 50) this.events.push({ atMs: Date.now() - this.startedAt, what });
    }

    private get query(): string {
        return `/v1/rules?tag=${encodeURIComponent(this.tag)}`;
    }

    /** Writes one rule; remembers it only when the controller acknowledged it. */
    async write(): Promise<void> {
        this.seq++;
        const rule = { destination: this.tag, tags: [this.tag, `n${this.seq}`], route: { backends: [{ tags: ["v1"] }] } };
        try {
            const a = await this.http("POST", "/v1/rules", { rules: [rule] });
            const ids = (a.body as { ids?: unknown } | undefined)?.ids;
            if (a.status === 201 && Array.isArray(ids) && ids.length === 1 && typeof ids[0] === "string") {
                const at = Date.now();
                this.ledger.ruleAcked(ids[0], at);
                this.acknowledgedAt.push(at);
                this.counts.writesAcknowledged++;
                return;
            }
            this.counts.writesFailed++;
            this.note(`rule write n${this.seq}: HTTP ${a.status} ${snippet(a.body)}`);
        } catch (e) {
            this.counts.writesFailed++;
            this.note(`rule write n${this.seq}: ${(e as Error).message}`);
        }
    }

    /** Reads the drill's rules and checks them against what was acknowledged before the read. */
    async read(): Promise<void> {
        const start = Date.now();
        const got = await this.fetchRules();
        const end = Date.now();
        if (got === undefined) {
            this.counts.readsFailed++;
            return;
        }
        this.counts.readsOk++;
        const wrong = contradiction(this.ledger, "getRules", start, end, got.body);
        this.ledger.revisionAnswered(got.revision, end);
        if (wrong !== undefined) {
            this.counts.readsWrong++;
            this.note(`rule read: ${wrong}`);
        }
    }

    private async fetchRules(): Promise<{ ids: Set<string>; revision: number; body: unknown } | undefined> {
        try {
            const a = await this.http("GET", this.query);
            const body = a.body as { rules?: Array<{ id?: unknown }>; revision?: unknown } | undefined;
            if (a.status !== 200 || !Array.isArray(body?.rules) || typeof body?.revision !== "number") {
                this.note(`rule read: HTTP ${a.status} ${snippet(a.body)}`);
                return undefined;
            }
            return { ids: new Set(body.rules.map((r) => String(r.id))), revision: body.revision, body };
        } catch (e) {
            this.note(`rule read: ${(e as Error).message}`);
            return undefined;
        }
    }

    /**
     * After the drill: reads until the controller answers (at most timeoutMs), counts lost and
     * unacknowledged rules, then deletes the drill's rules. Resolves with whether it could verify.
     */
    async verifyAndClean(timeoutMs: number, sleep: (ms: number) => Promise<void>): Promise<boolean> {
        const deadline = Date.now() + timeoutMs;
        let got = await this.fetchRules();
        while (got === undefined && Date.now() < deadline) {
            await sleep(1000);
            got = await this.fetchRules();
        }
        if (got === undefined) return false;
        this.counts.verified = true;
        const acknowledged = this.ledger.allRules();
        const lost = missingOf(acknowledged, [...got.ids]);
        this.counts.acknowledgedLost = lost.length;
        this.counts.appliedWithoutAcknowledgement = missingOf([...got.ids], acknowledged).length;
        if (lost.length > 0)
            this.note(`final read: acknowledged rule(s) lost: ${lost.slice(0, 5).join(", ")}${lost.length > 5 ? ", ..." : ""}`);
        if (got.ids.size > 0 && !(await this.deleteRules(Date.now() + 10_000, sleep))) {
            this.note(`could not delete the drill's rules: DELETE ${this.query} by hand`);
        }
        return true;
    }

    private async deleteRules(deadline: number, sleep: (ms: number) => Promise<void>): Promise<boolean> {
        for (;;) {
            try {
                if ((await this.http("DELETE", this.query)).status === 200) return true;
            } catch {
                // retried until the deadline
            }
            if (Date.now() >= deadline) return false;
            await sleep(1000);
        }
    }
}
