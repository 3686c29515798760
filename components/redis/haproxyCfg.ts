/**
 * haproxy.cfg: routes only to the node that reports role:master AND that a quorum of Sentinels
 * name (with the fence: see healthy, and none doubts), holding new connections while no master is
 * voted; and fence.lua, which cuts the sessions of a master that loses its vote.
 */
import { HAPROXY_PASSWORD_ENV, REDIS_HA_FILES, RedisHaLayout, RedisNodeAddress } from "./layout";
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

/** The backends and servers that haproxy.cfg declares and fence.lua reads (backend name + node index). */
const SECTIONS = { masters: "redis_master", masterServer: "R", votes: "sentinel_vote_", doubts: "sentinel_doubt_" } as const;

/** A RESP2 bulk string of any content, as a regular expression matches it. */
const ANY_BULK = "\\$[0-9]+\\r\\n[^\\r]*\\r\\n";

/** One field of a `SENTINEL master` reply (its name as a bulk string, then the value's pattern). */
function replyField(name: string, valuePattern: string): string {
    return `\\$${name.length}\\r\\n${name}\\r\\n${valuePattern}`;
}

/** Bulk strings of a RESP2 reply as a regular expression matches them (`$<len>\r\n<text>\r\n`). */
function bulkPattern(text: string): string {
    return `\\$${text.length}\\r\\n${text.replace(/[.*+?^${}()|[\]\\-]/g, "\\$&")}\\r\\n`;
}

/**
 * What `SENTINEL master <name>` must answer for that Sentinel's vote for node i to count: its
 * master entry is node i, not seen down (flags `master`, or `master,disconnected`: right after a
 * switch a Sentinel connects to the new master within a second; not s_down, o_down or
 * failover_in_progress), or it is another node, which means this Sentinel is promoting node i
 * (`get-master-addr-by-name` names the promoted node from the reconfiguration step on).
 * A PCRE for `tcp-check expect rstring`, anchored at the reply (the check buffer starts afresh at each send).
 */
export function sentinelVouchesPattern(layout: RedisHaLayout, i: number): string {
    const node = layout.nodes[i];
    const addressOfNode = `${bulkPattern(node.host)}${replyField("port", bulkPattern(String(node.redisPort)))}`;
    return [
        `^\\*[0-9]+\\r\\n${replyField("name", bulkPattern(layout.masterName))}\\$2\\r\\nip\\r\\n`,
        `(?:${addressOfNode}${replyField("runid", ANY_BULK)}${replyField("flags", "\\$[0-9]+\\r\\nmaster(?:,disconnected)?\\r\\n")}`,
        `|(?!${addressOfNode})${ANY_BULK}${replyField("port", ANY_BULK)})`,
    ].join("");
}

/**
 * Fewest bytes of a `SENTINEL master` reply that decide sentinelVouchesPattern or
 * sentinelDoubtsPattern (min-recv): the shortest reply prefix that any branch needs, so that a
 * complete answer never fails early.
 */
export function sentinelMasterMinBytes(layout: RedisHaLayout, i: number): number {
    const bulk = (t: string): number => `$${t.length}\r\n${t}\r\n`.length;
    const head = "*10\r\n".length + bulk("name") + bulk(layout.masterName) + bulk("ip");
    const address = (n: RedisNodeAddress): number => bulk(n.host) + bulk("port") + bulk(String(n.redisPort));
    const healthy = address(layout.nodes[i]) + bulk("runid") + bulk("") + bulk("flags") + bulk("master");
    const others = layout.nodes.filter((_, j) => j !== i).map(address);
    return head + Math.min(healthy, ...others);
}

/**
 * What `SENTINEL master <name>` answers when that Sentinel doubts node i: its master entry is node
 * i and a quorum of Sentinels agreed it is down (o_down) or a failover of it is under way. One such
 * Sentinel is enough to veto node i: o_down needs a quorum's agreement, so a lone Sentinel that
 * lost sight of a healthy master vetoes nothing.
 */
export function sentinelDoubtsPattern(layout: RedisHaLayout, i: number): string {
    const node = layout.nodes[i];
    return [
        `^\\*[0-9]+\\r\\n${replyField("name", bulkPattern(layout.masterName))}`,
        replyField("ip", bulkPattern(node.host)),
        replyField("port", bulkPattern(String(node.redisPort))),
        replyField("runid", ANY_BULK),
        `${replyField("flags", "\\$[0-9]+\\r\\n[^\\r]*(?:o_down|failover_in_progress)")}`,
    ].join("");
}

/** How often fence.lua compares each master's sessions with its vote. */
export const FENCE_POLL_MS = 100;

/**
 * fence.lua: HAProxy's routing rules act on new connections only, so a pooled connection opened
 * while node i was voted would stay on it once the Sentinels stop vouching for it, and a replica
 * still attached to it would acknowledge writes (WAIT 1) that the failover then discards. This
 * task cuts those sessions within FENCE_POLL_MS of the vote.
 */
export function haproxyFenceLua(layout: RedisHaLayout): string {
    return [
        "-- Cuts the client sessions of a Redis node that is no longer a voted master (UP in",
        `-- redis_master, vouched for by at least ${layout.quorum} Sentinels, doubted by none). Generated with haproxy.cfg.`,
        `local QUORUM = ${layout.quorum}`,
        `local NODES = ${layout.nodes.length}`,
        `local POLL_MS = ${FENCE_POLL_MS}`,
        `local MASTERS, MASTER_SERVER = "${SECTIONS.masters}", "${SECTIONS.masterServer}"`,
        `local VOTES, DOUBTS = "${SECTIONS.votes}", "${SECTIONS.doubts}"`,
        "",
        "local function up(server)",
        '    return string.sub(server:get_stats()["status"], 1, 2) == "UP"',
        "end",
        "",
        "local function upCount(backend)",
        "    local n = 0",
        "    for _, sentinel in pairs(core.backends[backend].servers) do",
        "        if up(sentinel) then n = n + 1 end",
        "    end",
        "    return n",
        "end",
        "",
        "core.register_task(function()",
        "    local masters = core.backends[MASTERS]",
        "    while true do",
        "        for i = 0, NODES - 1 do",
        "            local server = masters.servers[MASTER_SERVER .. i]",
        '            local sessions = server:get_stats()["scur"]',
        "            local voted = up(server) and upCount(VOTES .. i) >= QUORUM and upCount(DOUBTS .. i) == 0",
        "            if sessions > 0 and not voted then",
        '                core.Warning(string.format("fence: node %d is not a voted master: cutting its %d sessions", i, sessions))',
        "                server:shut_sess()",
        "            end",
        "        end",
        "        core.msleep(POLL_MS)",
        "    end",
        "end)",
        "",
    ].join("\n");
}

/** The rendered files HAProxy reads: haproxy.cfg, and fence.lua when the layout fences. */
export function haproxyFiles(layout: RedisHaLayout): Record<string, string> {
    return {
        [REDIS_HA_FILES.haproxyCfg]: haproxyCfg(layout),
        ...(layout.haproxy.fenceUnvotedMaster ? { [REDIS_HA_FILES.haproxyFence]: haproxyFenceLua(layout) } : {}),
    };
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
        `# at least ${q} Sentinels name as master${h.fenceUnvotedMaster ? " (and none doubts)" : ""}. ` +
            `The password comes from the environment variable ${HAPROXY_PASSWORD_ENV}.`,
        "global",
        `    maxconn ${h.maxConnections}`,
        ...(h.fenceUnvotedMaster ? [`    lua-load ${layout.paths.templateDir}/${REDIS_HA_FILES.haproxyFence}`] : []),
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

    const sentinelServers = layout.nodes.map((s, j) => `    server S${j} ${hostPort(s.host, s.sentinelPort)} ${checkOpts}${serverOpts}`);
    layout.nodes.forEach((node, i) => {
        const askSentinelMaster = (pattern: string): string[] => [
            `    tcp-check send SENTINEL\\ master\\ ${layout.masterName}\\r\\n`,
            `    tcp-check expect ${h.fastFail ? `min-recv ${sentinelMasterMinBytes(layout, i)} ` : ""}rstring ${pattern}`,
        ];
        out.push(
            `# Sentinels that name node ${i} (${hostPort(node.host, node.redisPort)}) as master; host AND port must match.`,
            `backend ${SECTIONS.votes}${i}`,
            "    option tcp-check",
            "    tcp-check connect",
            `    ${auth}`,
            `    ${okExpect}`,
            `    tcp-check send SENTINEL\\ get-master-addr-by-name\\ ${layout.masterName}\\r\\n`,
            // No QUIT/+OK afterwards: a 7.0 Sentinel answers QUIT with an error.
            `    tcp-check expect ${h.fastFail ? "min-recv 5 " : ""}binary ${hex(sentinelMasterReply(node))}`,
            ...(h.fenceUnvotedMaster
                ? [
                      "    # ...and, while that is their current master, see it healthy (no s_down, o_down or failover).",
                      ...askSentinelMaster(sentinelVouchesPattern(layout, i)),
                  ]
                : []),
            ...sentinelServers,
            "",
        );
        // A doubt server is DOWN while it has no doubt, so checked every downinter: a veto counts at once.
        if (h.fenceUnvotedMaster) {
            out.push(
                `# Sentinels that doubt node ${i}: UP here is a veto (o_down or a failover of it under way).`,
                `backend ${SECTIONS.doubts}${i}`,
                "    option tcp-check",
                "    tcp-check connect",
                `    ${auth}`,
                `    ${okExpect}`,
                ...askSentinelMaster(sentinelDoubtsPattern(layout, i)),
                ...sentinelServers,
                "",
            );
        }
    });

    // A killed master refuses connections: DOWN on the first refusal, not at the next check.
    const markDown = h.markDownOnConnectError ? " observe layer4 error-limit 1 on-error mark-down" : "";
    const onMarkedDown = h.shutdownSessions ? " on-marked-down shutdown-sessions" : "";
    const voted = (i: number): string => votedMaster(layout, i, "");
    const goodReplica = h.downWithoutGoodReplica && layout.minReplicasToWrite > 0;
    out.push(
        `backend ${SECTIONS.masters}`,
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
        ...layout.nodes.map((_, i) => `    use-server ${SECTIONS.masterServer}${i} if ${voted(i)}`),
        ...layout.nodes.map((node, i) => {
            const address = hostPort(node.host, node.redisPort);
            return `    server ${SECTIONS.masterServer}${i} ${address} ${checkOpts}${markDown}${onMarkedDown}${serverOpts}`;
        }),
        "",
    );
    return out.join("\n");
}

/**
 * Node i is up as master AND a quorum of Sentinels names it (and, with the fence, none doubts it);
 * `backend` qualifies R<i> outside its backend.
 */
function votedMaster(layout: RedisHaLayout, i: number, backend: "" | `${typeof SECTIONS.masters}/`): string {
    const veto = layout.haproxy.fenceUnvotedMaster ? ` { nbsrv(${SECTIONS.doubts}${i}) eq 0 }` : "";
    return `{ srv_is_up(${backend}${SECTIONS.masterServer}${i}) } { nbsrv(${SECTIONS.votes}${i}) ge ${layout.quorum} }${veto}`;
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
    const votedAny = layout.nodes.map((_, i) => votedMaster(layout, i, `${SECTIONS.masters}/`)).join(" || ");
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
