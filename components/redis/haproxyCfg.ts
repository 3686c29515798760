/**
 * haproxy.cfg: routes only to the node that reports role:master AND that a quorum of Sentinels
 * name, holding new connections while no master is voted.
 */
import { HAPROXY_PASSWORD_ENV, RedisHaLayout, RedisNodeAddress } from "./layout";
import { isIpLiteral } from "./validate";

function ms(v: number): string {
    return `${v}ms`;
}

function hostPort(host: string, port: number): string {
    return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Hex of an ASCII string (host names are validated to be ASCII). */
function hex(s: string): string {
    return Array.from(s, (c) => c.charCodeAt(0).toString(16).padStart(2, "0"))
        .join("")
        .toUpperCase();
}

/** The exact RESP reply of `SENTINEL get-master-addr-by-name` naming this node. */
export function sentinelMasterReply(node: RedisNodeAddress): string {
    const port = String(node.redisPort);
    return `*2\r\n$${node.host.length}\r\n${node.host}\r\n$${port.length}\r\n${port}\r\n`;
}

export function haproxyCfg(layout: RedisHaLayout): string {
    const h = layout.haproxy;
    const q = layout.quorum;
    const auth = `tcp-check send "AUTH \${${HAPROXY_PASSWORD_ENV}}"\\r\\n`;
    // min-recv makes a wrong reply fail on the first read instead of waiting for checkTimeoutMs.
    const okExpect = h.fastFail ? "tcp-check expect min-recv 5 string +OK" : "tcp-check expect string +OK";
    const dns = layout.nodes.some((n) => !isIpLiteral(n.host));
    const serverOpts = dns ? " resolvers dns resolve-prefer ipv4 init-addr libc,none" : "";
    const checkOpts = [
        "check",
        `inter ${ms(h.checkIntervalMs)}`,
        ...(h.fastFail ? [`downinter ${ms(h.downIntervalMs)}`] : []),
        "fall 1",
        "rise 1",
    ].join(" ");

    const out: string[] = [
        "# HAProxy in front of Redis: routes only to the node that reports role:master AND that",
        `# at least ${q} Sentinels name as master. The password comes from the environment variable ${HAPROXY_PASSWORD_ENV}.`,
        "global",
        `    maxconn ${h.maxConnections}`,
        "",
        "defaults",
        "    mode tcp",
        `    timeout connect ${ms(h.connectTimeoutMs)}`,
        `    timeout client ${ms(h.clientTimeoutMs)}`,
        `    timeout server ${ms(h.serverTimeoutMs)}`,
        `    timeout check ${ms(h.checkTimeoutMs)}`,
        "",
    ];
    if (dns) {
        out.push(
            "# Pods get new IPs when they restart: re-resolve the node names continuously.",
            "resolvers dns",
            "    parse-resolv-conf",
            "    resolve_retries 3",
            "    timeout resolve 1s",
            "    timeout retry 1s",
            "    hold valid 5s",
            "    hold other 5s",
            "    hold refused 5s",
            "    hold nx 5s",
            "    hold timeout 5s",
            "    hold obsolete 5s",
            "",
        );
    }
    if (h.healthPort !== undefined) {
        out.push("frontend health", "    mode http", `    bind ${hostPort(h.bind, h.healthPort)}`, "    monitor-uri /healthz", "");
    }
    out.push(...holdChain(layout), "");

    layout.nodes.forEach((node, i) => {
        out.push(
            `# Sentinels that name node ${i} (${hostPort(node.host, node.redisPort)}) as master; host AND port must match.`,
            `backend sentinel_vote_${i}`,
            "    option tcp-check",
            "    tcp-check connect",
            `    ${auth}`,
            `    ${okExpect}`,
            `    tcp-check send SENTINEL\\ get-master-addr-by-name\\ ${layout.masterName}\\r\\n`,
            // No QUIT/+OK afterwards: a 7.0 Sentinel answers QUIT with an error.
            `    tcp-check expect ${h.fastFail ? "min-recv 5 " : ""}binary ${hex(sentinelMasterReply(node))}`,
            ...layout.nodes.map((s, j) => `    server S${j} ${hostPort(s.host, s.sentinelPort)} ${checkOpts}${serverOpts}`),
            "",
        );
    });

    // A killed master refuses connections: DOWN on the first refusal, not at the next check.
    const markDown = h.markDownOnConnectError ? " observe layer4 error-limit 1 on-error mark-down" : "";
    const onMarkedDown = h.shutdownSessions ? " on-marked-down shutdown-sessions" : "";
    const voted = (i: number): string => votedMaster(layout, i, "");
    const goodReplica = h.downWithoutGoodReplica && layout.minReplicasToWrite > 0;
    out.push(
        "backend redis_master",
        "    option tcp-check",
        "    tcp-check connect",
        `    ${auth}`,
        `    ${okExpect}`,
        ...(goodReplica
            ? [
                  // QUIT with it: Redis then closes the connection, which the negated match needs to conclude
                  // at once rather than at the check timeout.
                  "    tcp-check send info\\ replication\\r\\nQUIT\\r\\n",
                  `    tcp-check expect ${h.fastFail ? "min-recv 40 " : ""}string role:master`,
                  "    # A master that counts no replica within min-replicas-max-lag refuses writes: DOWN, so that",
                  "    # its clients' sessions are cut and they reconnect to the master the Sentinels elected.",
                  "    tcp-check expect ! string min_slaves_good_slaves:0",
              ]
            : [
                  "    tcp-check send info\\ replication\\r\\n",
                  `    tcp-check expect ${h.fastFail ? "min-recv 40 " : ""}string role:master`,
                  "    tcp-check send QUIT\\r\\n",
              ]),
        "    # No fallback: without a voted master the connection is refused, never load-balanced",
        "    # onto a node that merely claims role:master (a restarted or cut-off old master).",
        // A connection refused by a dead master fails at once instead of after 1 s retries to it;
        // the refusal marks the server DOWN, so the client's next connection is held.
        ...(h.markDownOnConnectError ? ["    retries 0"] : []),
        ...layout.nodes.map((_, i) => `    tcp-request content accept if ${voted(i)}`),
        "    tcp-request content reject",
        ...layout.nodes.map((_, i) => `    use-server R${i} if ${voted(i)}`),
        ...layout.nodes.map(
            (node, i) => `    server R${i} ${hostPort(node.host, node.redisPort)} ${checkOpts}${markDown}${onMarkedDown}${serverOpts}`,
        ),
        "",
    );
    return out.join("\n");
}

/** Node i is up as master AND a quorum of Sentinels names it (`backend` qualifies R<i> outside its backend). */
function votedMaster(layout: RedisHaLayout, i: number, backend: "" | "redis_master/"): string {
    return `{ srv_is_up(${backend}R${i}) } { nbsrv(sentinel_vote_${i}) ge ${layout.quorum} }`;
}

/** How often a held connection looks for a voted master again. */
export const HOLD_RECHECK_MS = 250;

/**
 * The frontend, and the hops that hold a connection while no master is voted. HAProxy evaluates
 * `tcp-request content` rules only when data arrives and when the inspect delay ends, so one
 * long delay would keep every held connection for the whole delay. Instead each hop waits
 * HOLD_RECHECK_MS, then hands the connection on to the next hop (an abstract socket of this
 * HAProxy): a held connection reaches the new master at most HOLD_RECHECK_MS after the vote,
 * and the last hop refuses it (backend redis_master) once holdWithoutMasterMs has passed.
 */
function holdChain(layout: RedisHaLayout): string[] {
    const h = layout.haproxy;
    const hops = h.holdWithoutMasterMs > 0 ? Math.ceil(h.holdWithoutMasterMs / HOLD_RECHECK_MS) : 0;
    if (hops === 0) return ["frontend redis_master", `    bind ${hostPort(h.bind, h.port)}`, "    default_backend redis_master"];
    const votedAny = layout.nodes.map((_, i) => votedMaster(layout, i, "redis_master/")).join(" || ");
    // Abstract sockets are per network namespace: the port keeps two loopback HAProxies apart.
    const hopAddress = (k: number): string => `abns@redis-hold-${h.port}-${k}`;
    const out = [
        `# Without a voted master a new connection is held up to ${ms(h.holdWithoutMasterMs)}, ` +
            `looked at again every ${ms(HOLD_RECHECK_MS)}.`,
    ];
    for (let k = 0; k < hops; k++) {
        const last = k === hops - 1;
        out.push(
            k === 0 ? "frontend redis_master" : `frontend redis_hold_${k}`,
            `    bind ${k === 0 ? hostPort(h.bind, h.port) : hopAddress(k)}`,
            `    tcp-request inspect-delay ${ms(HOLD_RECHECK_MS)}`,
            `    tcp-request content accept if ${votedAny}`,
            "    tcp-request content accept if WAIT_END",
            `    use_backend redis_master if ${votedAny}`,
            `    default_backend ${last ? "redis_master" : `redis_hold_${k + 1}`}`,
            "",
        );
        if (!last) out.push(`backend redis_hold_${k + 1}`, `    server next ${hopAddress(k + 1)}`, "");
    }
    return out.slice(0, -1);
}
