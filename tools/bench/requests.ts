/** What the control-plane benchmark records of each request it makes. */
import type { RequestKind } from "../../cli/smoke/ledger";

export type { RequestKind };

export interface RequestRecord {
    kind: RequestKind;
    replica: number;
    start: number;
    end: number;
    /** HTTP status, or undefined when no answer came (connection error, timeout). */
    status?: number;
    /** Why a 2xx answer contradicts what was acknowledged. */
    wrong?: string;
    error?: string;
}

/** A request without a 2xx answer (no answer at all included). */
export const isFailed = (r: RequestRecord): boolean => r.status === undefined || r.status < 200 || r.status > 299;
