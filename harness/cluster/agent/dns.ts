/**
 * The cluster DNS: A records of Services and headless-Service pods (services.ts dnsRecords) over
 * UDP, as CoreDNS's kubernetes plugin answers them (TTL 5 s, NXDOMAIN inside the cluster domain,
 * an empty answer for other types of a known name). Only what the pods here ask for.
 */
import * as dgram from "dgram";

const TTL_SECONDS = 5;
const TYPE_A = 1;
const CLASS_IN = 1;

export interface DnsQuestion {
    readonly id: number;
    readonly name: string;
    readonly type: number;
    /** The question section as received, echoed in the answer. */
    readonly question: Buffer;
    readonly recursionDesired: boolean;
}

/** Pure: the first question of a DNS query, or undefined for anything malformed. */
export function parseQuery(msg: Buffer): DnsQuestion | undefined {
    if (msg.length < 12 || msg.readUInt16BE(4) < 1) return undefined;
    const labels: string[] = [];
    let offset = 12;
    for (;;) {
        if (offset >= msg.length) return undefined;
        const len = msg[offset];
        if (len === 0) break;
        if (len > 63 || offset + 1 + len > msg.length) return undefined;
        labels.push(msg.subarray(offset + 1, offset + 1 + len).toString("ascii"));
        offset += 1 + len;
    }
    offset += 1;
    if (offset + 4 > msg.length) return undefined;
    return {
        id: msg.readUInt16BE(0),
        name: labels.join(".").toLowerCase(),
        type: msg.readUInt16BE(offset),
        question: msg.subarray(12, offset + 4),
        recursionDesired: (msg[2] & 1) === 1,
    };
}

/** Pure: the answer to a question, from the records (name -> IPv4 addresses). */
export function answer(q: DnsQuestion, records: ReadonlyMap<string, readonly string[]>): Buffer {
    const addresses = records.get(q.name);
    const known = addresses !== undefined && addresses.length > 0;
    const rcode = known ? 0 : 3;
    const answers = known && q.type === TYPE_A ? (addresses as string[]) : [];
    const header = Buffer.alloc(12);
    header.writeUInt16BE(q.id, 0);
    // QR, authoritative, RD echoed, RA; the response code.
    header.writeUInt16BE(0x8400 | (q.recursionDesired ? 0x0100 : 0) | 0x0080 | rcode, 2);
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(answers.length, 6);
    const rrs = answers.map((a) => {
        const rr = Buffer.alloc(16);
        rr.writeUInt16BE(0xc00c, 0); // a pointer to the question's name
        rr.writeUInt16BE(TYPE_A, 2);
        rr.writeUInt16BE(CLASS_IN, 4);
        rr.writeUInt32BE(TTL_SECONDS, 6);
        rr.writeUInt16BE(4, 10);
        a.split(".").forEach((octet, i) => rr.writeUInt8(Number(octet), 12 + i));
        return rr;
    });
    return Buffer.concat([header, q.question, ...rrs]);
}

export class DnsServer {
    private records: ReadonlyMap<string, readonly string[]> = new Map();
    private readonly socket = dgram.createSocket("udp4");

    constructor(log: (msg: string) => void) {
        this.socket.on("error", (e) => log(`dns: ${e.message}`));
        this.socket.on("message", (msg, rinfo) => {
            const q = parseQuery(msg);
            if (q) this.socket.send(answer(q, this.records), rinfo.port, rinfo.address);
        });
    }

    listen(address: string, port = 53): Promise<void> {
        return new Promise((resolve) => this.socket.bind(port, address, () => resolve()));
    }

    update(records: ReadonlyMap<string, readonly string[]>): void {
        this.records = records;
    }

    close(): void {
        this.socket.close();
    }
}
