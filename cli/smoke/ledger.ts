/**
 * The one ledger of acknowledged writes, pure: what the control plane acknowledged (registrations
 * and heartbeats, rule writes, revisions answered), each with the time from which a correct answer
 * must reflect it, and why a 2xx answer contradicts it. The smoke drill (ruleLedger.ts) and the
 * control-plane benchmark judge their answers with it.
 */

/** An instance counts as registered until this long before its TTL could have run out. */
const EXPIRY_MARGIN_MS = 1000;

export type RequestKind = "listServices" | "getService" | "listInstances" | "heartbeat" | "getRules" | "writeRule";

/** Acknowledged facts, each with the time from which a correct answer must reflect it. */
export class Ledger {
    /** Per instance: every acknowledged registration or heartbeat, as (sent, acknowledged) times. */
    private readonly instances = new Map<string, { service: string; ttlMs: number; renewals: { sent: number; acked: number }[] }>();
    private readonly rules = new Map<string, number>();
    /** Revisions answered, in completion order, with the running maximum. */
    private readonly revisionEnds: number[] = [];
    private readonly revisionMax: number[] = [];

    /** A registration or heartbeat sent at `sent` and acknowledged at `acked`. */
    renewed(id: string, service: string, sent: number, acked: number, ttlMs: number): void {
        const inst = this.instances.get(id) ?? { service, ttlMs, renewals: [] };
        inst.renewals.push({ sent, acked });
        this.instances.set(id, inst);
    }

    ruleAcked(id: string, at: number): void {
        this.rules.set(id, at);
    }

    revisionAnswered(revision: number, at: number): void {
        const prevMax = this.revisionMax.length > 0 ? this.revisionMax[this.revisionMax.length - 1] : -Infinity;
        this.revisionEnds.push(at);
        this.revisionMax.push(Math.max(prevMax, revision));
    }

    /** Highest revision answered before `t`, or undefined. */
    revisionBefore(t: number): number | undefined {
        let lo = 0;
        let hi = this.revisionEnds.length;
        while (lo < hi) {
            const mid = (lo + hi) >> 1;
            if (this.revisionEnds[mid] < t) lo = mid + 1;
            else hi = mid;
        }
        return lo === 0 ? undefined : this.revisionMax[lo - 1];
    }

    /**
     * Instances whose registration or heartbeat was acknowledged before `start` and cannot have
     * expired by `end` (the TTL runs from when the registry handled it, after it was sent).
     */
    liveInstances(start: number, end: number, service?: string): { id: string; service: string }[] {
        const out: { id: string; service: string }[] = [];
        for (const [id, i] of this.instances) {
            if (service !== undefined && i.service !== service) continue;
            const latest = Math.max(-Infinity, ...i.renewals.filter((r) => r.acked < start).map((r) => r.sent));
            if (latest + i.ttlMs - EXPIRY_MARGIN_MS > end) out.push({ id, service: i.service });
        }
        return out;
    }

    rulesAckedBefore(t: number): string[] {
        return [...this.rules].filter(([, at]) => at < t).map(([id]) => id);
    }

    allRules(): string[] {
        return [...this.rules.keys()];
    }

    allInstances(): string[] {
        return [...this.instances.keys()];
    }
}

export function missingOf(expected: string[], got: string[]): string[] {
    const have = new Set(got);
    return expected.filter((x) => !have.has(x));
}

function describeMissing(what: string, expected: number, got: number, missing: number): string {
    return got === 0 ? `empty ${what} (expected ${expected})` : `partial ${what}: ${missing} of ${expected} missing`;
}

/** Why a 2xx answer contradicts the ledger, or undefined when it is consistent. */
export function contradiction(
    ledger: Ledger,
    kind: RequestKind,
    start: number,
    end: number,
    body: any,
    service?: string,
): string | undefined {
    switch (kind) {
        case "listServices": {
            const expected = [...new Set(ledger.liveInstances(start, end).map((i) => i.service))];
            const got: string[] = Array.isArray(body?.services) ? body.services : [];
            const missing = missingOf(expected, got);
            return missing.length > 0 ? describeMissing("service list", expected.length, got.length, missing.length) : undefined;
        }
        case "getService":
        case "listInstances": {
            const expected = ledger.liveInstances(start, end, kind === "getService" ? service : undefined).map((i) => i.id);
            const got: string[] = Array.isArray(body?.instances) ? body.instances.map((i: { id?: string }) => String(i?.id)) : [];
            const missing = missingOf(expected, got);
            return missing.length > 0
                ? describeMissing(
                      kind === "getService" ? "service instances" : "instance list",
                      expected.length,
                      got.length,
                      missing.length,
                  )
                : undefined;
        }
        case "getRules": {
            const expected = ledger.rulesAckedBefore(start);
            const got: string[] = Array.isArray(body?.rules) ? body.rules.map((r: { id?: string }) => String(r?.id)) : [];
            const missing = missingOf(expected, got);
            if (missing.length > 0) return describeMissing("rule list", expected.length, got.length, missing.length);
            const seen = ledger.revisionBefore(start);
            const revision = Number(body?.revision);
            if (!Number.isInteger(revision)) return "no revision";
            if (seen !== undefined && revision < seen) return `revision went backwards (${revision} < ${seen})`;
            return undefined;
        }
        default:
            return undefined;
    }
}
