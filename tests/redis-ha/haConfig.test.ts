import { strict as assert } from "assert";
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import {
    HAPROXY_PASSWORD_ENV,
    KUBERNETES_PATHS,
    PASSWORD_PLACEHOLDER,
    REDIS_HA_FILES,
    REDIS_PASSWORD_PATTERN,
    RedisHaLayout,
    RedisLayoutError,
    SCRIPT_ENV,
    buildRedisHaLayout,
    chartBaselineTimings,
    holdWithoutMasterMs,
    HOLD_RECHECK_MS,
    kubernetesNodeAddresses,
    minimumFaultSpacingMs,
    preStopBudgetSeconds,
    recommendedTimings,
    renderRedisHaFiles,
    renderStandaloneRedisFiles,
    FENCE_POLL_MS,
    haproxyFiles,
    sentinelDoubtsPattern,
    sentinelMasterReply,
    sentinelVouchesPattern,
    standaloneRedisLayout,
    validateRedisHaLayout,
} from "../../components/redis/haConfig";
import { HA_SCRIPT_SOURCES, SCRIPTS_DIR, STANDALONE_SCRIPT_SOURCES } from "../../components/redis/scripts";
import { ManagedProcess, freePorts, launch, sleep, waitFor } from "../../cli/process";
import { podShell } from "../../harness/loopback/redisCluster";
import { command } from "../../harness/loopback/redisClient";

/**
 * A Redis 7.0 Sentinel's reply to `SENTINEL master <name>` (RESP2: field, value, ...), the first
 * fields as it sends them, with a master at `node` whose flags are `flags` (e.g. "s_down,o_down,master").
 */
function sentinelMasterEntry(
    name: string,
    node: { host: string; redisPort: number },
    flags: string,
    runid = "51e670e6417280cfad970b4ba8af28ac5780c846",
): string {
    const bulk = (t: string): string => `$${Buffer.byteLength(t)}\r\n${t}\r\n`;
    const fields: [string, string][] = [
        ["name", name],
        ["ip", node.host],
        ["port", String(node.redisPort)],
        ["runid", runid],
        ["flags", flags],
        ["link-pending-commands", "0"],
        ["link-refcount", "1"],
        ["last-ping-sent", "0"],
        ["last-ok-ping-reply", "805"],
        ["quorum", "2"],
    ];
    return `*${2 * fields.length}\r\n${fields.map(([k, v]) => bulk(k) + bulk(v)).join("")}`;
}

const loopbackNodes = [0, 1, 2].map((i) => ({ host: "127.0.0.1", redisPort: 6380 + i, sentinelPort: 26380 + i }));

function loopback(overrides: Partial<RedisHaLayout> = {}): RedisHaLayout {
    return { ...buildRedisHaLayout({ nodes: loopbackNodes, bind: "127.0.0.1", haproxy: { bind: "127.0.0.1", port: 6379 } }), ...overrides };
}

function k8s(): RedisHaLayout {
    return buildRedisHaLayout({
        nodes: kubernetesNodeAddresses({ statefulSetName: "redis-node", headlessServiceName: "redis-nodes", namespace: "a8", replicas: 3 }),
        haproxy: { healthPort: 8888 },
    });
}

/** Non-comment lines, trimmed. */
function lines(text: string): string[] {
    return text
        .split("\n")
        .map((l) => l.trim())
        .filter((l) => l !== "" && !l.startsWith("#"));
}

/** Lines of one haproxy section (from its header to the next header). */
function section(cfg: string, header: string): string[] {
    const all = cfg.split("\n");
    const start = all.findIndex((l) => l === header);
    assert.ok(start >= 0, `no section "${header}"`);
    const out: string[] = [];
    for (const l of all.slice(start + 1)) {
        if (/^\S/.test(l)) break;
        if (l.trim() !== "" && !l.trim().startsWith("#")) out.push(l.trim());
    }
    return out;
}

function unhex(h: string): string {
    return Buffer.from(h, "hex").toString("latin1");
}

describe("Redis HA config generator", () => {
    describe("file set", () => {
        it("renders exactly the files the StatefulSets and the policy pack use", () => {
            const files = renderRedisHaFiles(loopback());
            assert.deepEqual(Object.keys(files).sort(), [
                "cluster.sh",
                "fence.lua",
                "haproxy.cfg",
                "init.sh",
                "lib.sh",
                "prestop.sh",
                "redis.conf",
                "sentinel.conf",
                "settings.env",
                "start-redis.sh",
                "start-sentinel.sh",
            ]);
            assert.deepEqual(Object.values(REDIS_HA_FILES).sort(), Object.keys(files).sort());
        });

        it("puts every file of components/redis/scripts into a shape unchanged; only settings.env depends on the layout", () => {
            const shapes = [
                { files: renderRedisHaFiles(k8s()), sources: HA_SCRIPT_SOURCES },
                { files: renderStandaloneRedisFiles(standaloneRedisLayout({ host: "r" })), sources: STANDALONE_SCRIPT_SOURCES },
            ];
            const used = new Set<string>();
            for (const { files, sources } of shapes) {
                for (const [key, file] of Object.entries(sources)) {
                    assert.equal(files[key], fs.readFileSync(path.join(SCRIPTS_DIR, file), "utf8"), `${key} differs from scripts/${file}`);
                    used.add(file);
                }
            }
            assert.deepEqual(fs.readdirSync(SCRIPTS_DIR).sort(), [...used].sort());
            assert.deepEqual(renderRedisHaFiles(loopback())["init.sh"], renderRedisHaFiles(k8s())["init.sh"]);
            assert.notEqual(renderRedisHaFiles(loopback())["settings.env"], renderRedisHaFiles(k8s())["settings.env"]);
        });

        it("never writes a password: secrets are the placeholder (configs) or ${AUTH} (HAProxy)", () => {
            for (const layout of [loopback(), k8s()]) {
                const files = renderRedisHaFiles(layout);
                const redis = lines(files["redis.conf"]);
                assert.ok(redis.includes(`requirepass "${PASSWORD_PLACEHOLDER}"`));
                assert.ok(redis.includes(`masterauth "${PASSWORD_PLACEHOLDER}"`));
                const sentinel = lines(files["sentinel.conf"]);
                assert.ok(sentinel.includes(`requirepass "${PASSWORD_PLACEHOLDER}"`));
                assert.ok(sentinel.includes(`sentinel auth-pass mymaster "${PASSWORD_PLACEHOLDER}"`));
                const secretLines = [...redis, ...sentinel].filter((l) => /requirepass|masterauth|auth-pass|sentinel-pass/.test(l));
                for (const l of secretLines) assert.ok(l.endsWith(`"${PASSWORD_PLACEHOLDER}"`), `secret line without placeholder: ${l}`);
                const auth = files["haproxy.cfg"].split("\n").filter((l) => /AUTH/.test(l) && !l.trim().startsWith("#"));
                assert.ok(auth.length > 0);
                for (const l of auth) assert.equal(l.trim(), `tcp-check send "AUTH \${${HAPROXY_PASSWORD_ENV}}"\\r\\n`);
                // Scripts read the password from the file and hand it to redis-cli via the environment only:
                // lib.sh's rcli is the one place that runs redis-cli.
                assert.match(files["lib.sh"], /REDISCLI_AUTH="\$REDIS_PASSWORD"/);
                assert.doesNotMatch(files["lib.sh"], /redis-cli[^\n]*\s-a\s/, "lib.sh passes the password on a command line");
                for (const name of ["cluster.sh", "init.sh", "start-redis.sh", "start-sentinel.sh", "prestop.sh"]) {
                    assert.doesNotMatch(files[name], /redis-cli/, `${name} runs redis-cli itself instead of rcli`);
                }
                assert.doesNotMatch(files["settings.env"], /PASSWORD=|REDIS_PASSWORD/);
            }
        });
    });

    describe("redis.conf", () => {
        it("has AOF, min-replicas, fast resync and disabled FLUSHALL/FLUSHDB", () => {
            const redis = lines(renderRedisHaFiles(loopback())["redis.conf"]);
            for (const l of [
                "appendonly yes",
                "appendfsync everysec",
                "min-replicas-to-write 1",
                "min-replicas-max-lag 5",
                "repl-diskless-sync-delay 0",
                'rename-command FLUSHALL ""',
                'rename-command FLUSHDB ""',
                "bind 127.0.0.1",
            ]) {
                assert.ok(redis.includes(l), `missing "${l}"`);
            }
            // Node-specific lines are written by init.sh, never shared through the template.
            assert.ok(!redis.some((l) => /^(port|replicaof|slaveof|replica-announce-ip|replica-priority) /.test(l)));
        });

        it("binds every interface in Kubernetes", () => {
            assert.ok(lines(renderRedisHaFiles(k8s())["redis.conf"]).includes("bind * -::*"));
        });
    });

    describe("sentinel.conf", () => {
        it("monitors node 0 with the quorum, authenticates and uses the timings", () => {
            const s = lines(renderRedisHaFiles(loopback())["sentinel.conf"]);
            assert.ok(s.includes("sentinel monitor mymaster 127.0.0.1 6380 2"));
            assert.ok(s.includes("sentinel down-after-milliseconds mymaster 2000"));
            assert.ok(s.includes("sentinel failover-timeout mymaster 5000"));
            assert.ok(s.includes("sentinel parallel-syncs mymaster 1"));
        });

        it("announces host names, declared before `sentinel monitor` (Sentinel rejects a host name otherwise)", () => {
            const s = lines(renderRedisHaFiles(k8s())["sentinel.conf"]);
            const monitor = s.indexOf("sentinel monitor mymaster redis-node-0.redis-nodes.a8.svc.cluster.local 6379 2");
            assert.ok(monitor > 0);
            assert.ok(s.indexOf("sentinel resolve-hostnames yes") < monitor && s.indexOf("sentinel resolve-hostnames yes") >= 0);
            assert.ok(s.indexOf("sentinel announce-hostnames yes") < monitor && s.indexOf("sentinel announce-hostnames yes") >= 0);
            // A shared myid would make every Sentinel the same one.
            assert.ok(!s.some((l) => l.startsWith("sentinel myid")));
        });

        it("follows the quorum and master name of the layout", () => {
            const nodes = [0, 1, 2, 3, 4].map((i) => ({ host: `10.0.0.${i + 1}`, redisPort: 6379, sentinelPort: 26379 }));
            const files = renderRedisHaFiles(buildRedisHaLayout({ nodes, masterName: "a8", quorum: 3 }));
            assert.ok(lines(files["sentinel.conf"]).includes("sentinel monitor a8 10.0.0.1 6379 3"));
            assert.match(files["haproxy.cfg"], /nbsrv\(sentinel_vote_4\) ge 3/);
        });
    });

    describe("haproxy.cfg", () => {
        // The fail-fast health check of every Redis server line: down at the first error, its sessions cut.
        const failFastCheck =
            "check inter 1000ms downinter 100ms fall 1 rise 1 " +
            "observe layer4 error-limit 1 on-error mark-down on-marked-down shutdown-sessions";
        it("checks role:master with fail-fast checks, cuts sessions of a DOWN server, listens on one address", () => {
            const cfg = renderRedisHaFiles(loopback())["haproxy.cfg"];
            assert.equal(section(cfg, "frontend redis_master")[0], "bind 127.0.0.1:6379");
            const bk = section(cfg, "backend redis_master");
            assert.ok(bk.includes("tcp-check expect min-recv 40 string role:master"));
            assert.ok(bk.includes("tcp-check expect min-recv 5 string +OK"));
            for (let i = 0; i < 3; i++) {
                assert.ok(bk.includes(`server R${i} 127.0.0.1:${6380 + i} ${failFastCheck}`), `server R${i} line`);
            }
        });

        it("routes only to a node a quorum of Sentinels names and none doubts, and refuses instead of falling back", () => {
            const bk = section(renderRedisHaFiles(loopback())["haproxy.cfg"], "backend redis_master");
            for (let i = 0; i < 3; i++) {
                const voted = `{ srv_is_up(R${i}) } { nbsrv(sentinel_vote_${i}) ge 2 } { nbsrv(sentinel_doubt_${i}) eq 0 }`;
                assert.ok(bk.includes(`use-server R${i} if ${voted}`));
                assert.ok(bk.includes(`tcp-request content accept if ${voted}`));
            }
            const lastAccept = bk.map((l) => l.startsWith("tcp-request content accept")).lastIndexOf(true);
            assert.equal(bk[lastAccept + 1], "tcp-request content reject");
            // Refused by a dead master: fail at once (the server goes DOWN with it) rather than retry it for 3 s.
            assert.ok(bk.includes("retries 0"));
        });

        it("holds a new connection while no master is voted, looking again every 250 ms, then hands it to the refusing backend", () => {
            const cfg = renderRedisHaFiles(loopback())["haproxy.cfg"];
            const votedAny = [0, 1, 2]
                .map((i) => `{ srv_is_up(redis_master/R${i}) } { nbsrv(sentinel_vote_${i}) ge 2 } { nbsrv(sentinel_doubt_${i}) eq 0 }`)
                .join(" || ");
            const hops = loopback().haproxy.holdWithoutMasterMs / HOLD_RECHECK_MS;
            assert.equal(hops, 20);
            for (let k = 0; k < hops; k++) {
                const fe = section(cfg, k === 0 ? "frontend redis_master" : `frontend redis_hold_${k}`);
                assert.deepEqual(fe, [
                    k === 0 ? "bind 127.0.0.1:6379" : `bind abns@redis-hold-6379-${k}`,
                    "tcp-request inspect-delay 250ms",
                    `tcp-request content accept if ${votedAny}`,
                    "tcp-request content accept if WAIT_END",
                    `use_backend redis_master if ${votedAny}`,
                    `default_backend ${k === hops - 1 ? "redis_master" : `redis_hold_${k + 1}`}`,
                ]);
                if (k > 0) assert.deepEqual(section(cfg, `backend redis_hold_${k}`), [`server next abns@redis-hold-6379-${k}`]);
            }
        });

        it("holds longer than a failover takes and well under the services' 30 s client timeouts", () => {
            // A master is voted 2.7-3.7 s after a kill with the recommended down-after of 2 s.
            assert.equal(loopback().haproxy.holdWithoutMasterMs, 5000);
            // Slower detection holds longer, never past the cap.
            assert.equal(holdWithoutMasterMs({ ...recommendedTimings.sentinel, downAfterMilliseconds: 5000 }), 8000);
            assert.equal(holdWithoutMasterMs({ ...recommendedTimings.sentinel, downAfterMilliseconds: 600000 }), 25000);
            assert.match(
                validateRedisHaLayout(loopback({ haproxy: { ...loopback().haproxy, holdWithoutMasterMs: 30000 } })).join("\n"),
                /haproxy\.holdWithoutMasterMs: 30000 must be an integer in 0-25000/,
            );
            const refuse = renderRedisHaFiles(loopback({ haproxy: { ...loopback().haproxy, holdWithoutMasterMs: 0 } }))["haproxy.cfg"];
            assert.deepEqual(section(refuse, "frontend redis_master"), ["bind 127.0.0.1:6379", "default_backend redis_master"]);
            assert.doesNotMatch(refuse, /redis_hold|inspect-delay|WAIT_END/);
        });

        it("has one vote backend per node that authenticates and matches host AND port of the Sentinel reply", () => {
            const cfg = renderRedisHaFiles(loopback())["haproxy.cfg"];
            for (let i = 0; i < 3; i++) {
                const vote = section(cfg, `backend sentinel_vote_${i}`);
                assert.equal(vote[2], 'tcp-check send "AUTH ${AUTH}"\\r\\n');
                assert.equal(vote[3], "tcp-check expect min-recv 5 string +OK");
                assert.equal(vote[4], "tcp-check send SENTINEL\\ get-master-addr-by-name\\ mymaster\\r\\n");
                const m = /^tcp-check expect min-recv 5 binary ([0-9A-F]+)$/.exec(vote[5]);
                assert.ok(m, vote[5]);
                assert.equal(unhex(m[1]), `*2\r\n$9\r\n127.0.0.1\r\n$4\r\n${6380 + i}\r\n`);
                // Redis 7.0 Sentinel answers QUIT with an error: no QUIT, no +OK expected after it.
                assert.ok(!vote.some((l) => /QUIT/.test(l)));
                assert.equal(vote.filter((l) => l.startsWith("server S")).length, 3);
                assert.ok(vote.includes(`server S${i} 127.0.0.1:${26380 + i} check inter 1000ms downinter 100ms fall 1 rise 1`));
            }
        });

        it("with the fence, counts a Sentinel's vote only while it sees that master healthy or is promoting that node", () => {
            const layout = loopback();
            const vouches = (i: number, reply: string): boolean => new RegExp(sentinelVouchesPattern(layout, i)).test(reply);
            const [n0, n1] = layout.nodes;
            assert.ok(vouches(0, sentinelMasterEntry("mymaster", n0, "master")));
            // Before its first INFO, a Sentinel knows no run id yet.
            assert.ok(vouches(0, sentinelMasterEntry("mymaster", n0, "master", "")));
            // Right after a switch, until it has connected to the new master (within a second).
            assert.ok(vouches(0, sentinelMasterEntry("mymaster", n0, "master,disconnected")));
            for (const flags of [
                "s_down,master",
                "s_down,master,disconnected",
                "s_down,o_down,master",
                "master,failover_in_progress",
                "master,disconnected,failover_in_progress",
                "s_down,o_down,master,failover_in_progress",
            ]) {
                assert.ok(!vouches(0, sentinelMasterEntry("mymaster", n0, flags)), flags);
            }
            // get-master-addr-by-name names node 1 while this Sentinel promotes it: its master entry is still node 0.
            assert.ok(vouches(1, sentinelMasterEntry("mymaster", n0, "s_down,o_down,master,failover_in_progress")));
            assert.ok(!vouches(0, sentinelMasterEntry("other", n0, "master")));
            const doubts = (i: number, reply: string): boolean => new RegExp(sentinelDoubtsPattern(layout, i)).test(reply);
            for (const flags of ["s_down,o_down,master", "master,failover_in_progress", "o_down,master,failover_in_progress"]) {
                assert.ok(doubts(0, sentinelMasterEntry("mymaster", n0, flags)), flags);
                assert.ok(!doubts(1, sentinelMasterEntry("mymaster", n0, flags)), `${flags} of another node`);
            }
            // A lone Sentinel's s_down is no veto: only o_down needs the agreement of a quorum.
            for (const flags of ["master", "s_down,master", "master,disconnected"])
                assert.ok(!doubts(0, sentinelMasterEntry("mymaster", n0, flags)), flags);
            // Addresses that are prefixes of each other are told apart.
            const prefixed = { ...n0, redisPort: n0.redisPort * 10 };
            assert.ok(!vouches(1, sentinelMasterEntry("mymaster", n1, "s_down,master")));
            assert.ok(vouches(0, sentinelMasterEntry("mymaster", prefixed, "s_down,master")), "a master at another port is another node");
            const cfg = renderRedisHaFiles(layout)["haproxy.cfg"];
            assert.ok(section(cfg, "global").includes(`lua-load ${layout.paths.templateDir}/${REDIS_HA_FILES.haproxyFence}`));
            for (let i = 0; i < 3; i++) {
                const vote = section(cfg, `backend sentinel_vote_${i}`);
                assert.equal(vote[6], "tcp-check send SENTINEL\\ master\\ mymaster\\r\\n");
                assert.match(vote[7], /^tcp-check expect min-recv \d+ rstring \^/);
                assert.ok(vote[7].endsWith(sentinelVouchesPattern(layout, i)));
            }
        });

        it("does not confuse addresses that are prefixes of each other", () => {
            const a = { host: "10.0.0.1", redisPort: 6379, sentinelPort: 26379 };
            const b = { host: "10.0.0.12", redisPort: 6379, sentinelPort: 26379 };
            const c = { host: "10.0.0.1", redisPort: 63790, sentinelPort: 26380 };
            assert.ok(!sentinelMasterReply(b).includes(sentinelMasterReply(a)));
            assert.ok(!sentinelMasterReply(c).includes(sentinelMasterReply(a)));
            assert.equal(sentinelMasterReply(a), "*2\r\n$8\r\n10.0.0.1\r\n$4\r\n6379\r\n");
        });

        it("re-resolves node names in Kubernetes and serves /healthz", () => {
            const cfg = renderRedisHaFiles(k8s())["haproxy.cfg"];
            assert.ok(section(cfg, "resolvers dns").includes("parse-resolv-conf"));
            assert.deepEqual(section(cfg, "frontend health"), ["mode http", "bind 0.0.0.0:8888", "monitor-uri /healthz"]);
            const node2 = "redis-node-2.redis-nodes.a8.svc.cluster.local:6379";
            assert.ok(
                section(cfg, "backend redis_master").includes(
                    `server R2 ${node2} ${failFastCheck} resolvers dns resolve-prefer ipv4 init-addr libc,none`,
                ),
            );
            assert.ok(!/resolvers/.test(renderRedisHaFiles(loopback())["haproxy.cfg"]));
        });

        it("the chart baseline has neither fast-fail checks, nor shutdown-sessions, nor the good-replica check, nor the fence", () => {
            const layout = buildRedisHaLayout({ nodes: loopbackNodes, timings: chartBaselineTimings, haproxy: { bind: "127.0.0.1" } });
            const files = renderRedisHaFiles(layout);
            const ours = /min-recv|shutdown-sessions|downinter|inspect-delay|observe layer4|retries|min_slaves_good_slaves/;
            assert.doesNotMatch(files["haproxy.cfg"], ours);
            assert.doesNotMatch(files["haproxy.cfg"], /lua-load|SENTINEL\\ master\\ /);
            assert.ok(!(REDIS_HA_FILES.haproxyFence in files));
            assert.match(files["haproxy.cfg"], /tcp-check expect string role:master/);
            const s = lines(files["sentinel.conf"]);
            assert.ok(s.includes("sentinel down-after-milliseconds mymaster 10000"));
            assert.ok(s.includes("sentinel failover-timeout mymaster 180000"));
        });
    });

    describe("haproxy.cfg on a real haproxy, in front of scripted Redis and Sentinel stand-ins", function () {
        const holdMs = 1500;
        let dir = "";
        let haproxy: ManagedProcess | undefined;
        let layout: RedisHaLayout;
        const servers: net.Server[] = [];
        let voteChecks = 0;
        /** What the master stand-in reports as min_slaves_good_slaves. */
        let goodReplicas = 2;
        /**
         * What the Sentinel stand-ins answer: the node `get-master-addr-by-name` names, the node of
         * their master entry (`SENTINEL master`), and each one's flags for it.
         */
        const sentinels = { names: 0, entry: 0, flags: ["master", "master", "master"] };
        const allFlags = (f: string): string[] => [f, f, f];

        /** Answers inline commands the way the checks and a client expect, as Sentinel s or as a Redis node. */
        function standIn(port: number, sentinel?: number): Promise<net.Server> {
            const bulk = (t: string): string => `$${Buffer.byteLength(t)}\r\n${t}\r\n`;
            const srv = net.createServer((sock) => {
                let buf = "";
                sock.on("error", () => undefined);
                sock.on("data", (d) => {
                    buf += d.toString("latin1");
                    let i: number;
                    while ((i = buf.indexOf("\r\n")) >= 0) {
                        const cmd = buf.slice(0, i).toLowerCase();
                        buf = buf.slice(i + 2);
                        if (cmd.startsWith("auth ")) sock.write("+OK\r\n");
                        else if (cmd === "ping") sock.write("+PONG\r\n");
                        else if (cmd === "info replication")
                            sock.write(
                                bulk(`# Replication\r\nrole:master\r\nconnected_slaves:2\r\nmin_slaves_good_slaves:${goodReplicas}\r\n`),
                            );
                        else if (cmd.startsWith("sentinel get-master-addr-by-name") && sentinel !== undefined) {
                            voteChecks++;
                            sock.write(sentinelMasterReply(layout.nodes[sentinels.names]));
                        } else if (cmd === `sentinel master ${layout.masterName}` && sentinel !== undefined) {
                            sock.write(sentinelMasterEntry(layout.masterName, layout.nodes[sentinels.entry], sentinels.flags[sentinel]));
                        } else if (cmd === "quit") sock.end("+OK\r\n");
                        else sock.write("-ERR unknown\r\n");
                    }
                });
            });
            servers.push(srv);
            return new Promise((resolve, reject) => {
                srv.once("error", reject);
                srv.listen(port, "127.0.0.1", () => resolve(srv));
            });
        }

        /** Connects through HAProxy, sends PING; resolves with the reply (or "" when closed without one) and the time taken. */
        function ping(): Promise<{ reply: string; ms: number }> {
            const t0 = Date.now();
            return new Promise((resolve) => {
                let reply = "";
                const sock = net.connect(layout.haproxy.port, "127.0.0.1", () => sock.write("PING\r\n"));
                const done = (): void => {
                    sock.destroy();
                    resolve({ reply, ms: Date.now() - t0 });
                };
                sock.setTimeout(holdMs + 5000, done);
                sock.on("data", (d) => {
                    reply += d.toString();
                    if (reply.includes("\r\n")) done();
                });
                sock.on("close", done);
                sock.on("error", done);
            });
        }

        before(async function () {
            this.timeout(20000);
            const ports = await freePorts(7);
            const nodes = [0, 1, 2].map((i) => ({ host: "127.0.0.1", redisPort: ports[i], sentinelPort: ports[3 + i] }));
            dir = fs.mkdtempSync(path.join(os.tmpdir(), "haproxy-hold-"));
            const built = buildRedisHaLayout({
                nodes,
                bind: "127.0.0.1",
                haproxy: { bind: "127.0.0.1", port: ports[6] },
                paths: { templateDir: dir },
            });
            layout = { ...built, haproxy: { ...built.haproxy, holdWithoutMasterMs: holdMs } };
            for (const [name, text] of Object.entries(haproxyFiles(layout))) fs.writeFileSync(path.join(dir, name), text);
            const cfg = path.join(dir, REDIS_HA_FILES.haproxyCfg);
            // Every Sentinel names node 0, whose Redis is not up yet: no voted master.
            for (let s = 0; s < 3; s++) await standIn(nodes[s].sentinelPort, s);
            const child = spawn("haproxy", ["-db", "-f", cfg], {
                env: { PATH: process.env.PATH ?? "", [HAPROXY_PASSWORD_ENV]: "pw" },
                stdio: "ignore",
                detached: true,
            });
            haproxy = new ManagedProcess("haproxy-hold", child);
            await waitFor("haproxy to listen", 10000, async () => {
                if (!haproxy?.running) throw new Error("haproxy exited");
                return new Promise<boolean>((resolve) => {
                    const s = net.connect(layout.haproxy.port, "127.0.0.1", () => (s.destroy(), resolve(true)));
                    s.on("error", () => resolve(false));
                });
            });
            // HAProxy starts with every server UP: let the first round of checks (spread over one
            // interval) mark them as they are.
            await waitFor("the first vote checks", 5000, async () => voteChecks >= 9);
            await sleep(layout.haproxy.checkIntervalMs);
        });

        after(async function () {
            this.timeout(20000);
            await haproxy?.stop(3000);
            await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
            if (dir) fs.rmSync(dir, { recursive: true, force: true });
        });

        it("holds a connection while no master is voted, then refuses it", async function () {
            this.timeout(15000);
            const r = await ping();
            assert.equal(r.reply, "", "a connection reached a server although no master was voted");
            assert.ok(r.ms >= holdMs - 200, `refused after ${r.ms} ms instead of being held for ${holdMs} ms`);
        });

        it("a held connection reaches the master that comes up while it waits, without waiting out the hold", async function () {
            this.timeout(15000);
            const pending = ping();
            await sleep(200);
            await standIn(layout.nodes[0].redisPort);
            const r = await pending;
            assert.equal(r.reply, "+PONG\r\n", `no reply after ${r.ms} ms`);
            // Up about 100 ms after it listens (downinter), then at most one re-check period.
            assert.ok(r.ms < 200 + 300 + HOLD_RECHECK_MS, `answered after ${r.ms} ms`);
        });

        /**
         * Opens a pooled session on the master, applies `fault`, and asserts that HAProxy cuts the
         * session within `boundMs` and holds new connections; `heal` undoes the fault.
         */
        async function assertSessionCut(what: string, boundMs: number, fault: () => void, heal: () => void): Promise<void> {
            const pooled = net.connect(layout.haproxy.port, "127.0.0.1");
            pooled.on("error", () => undefined);
            const closed = new Promise<number>((resolve) => pooled.on("close", () => resolve(Date.now())));
            const firstReply = await new Promise<string>((resolve) => {
                pooled.once("data", (d) => resolve(d.toString()));
                pooled.write("PING\r\n");
            });
            assert.equal(firstReply, "+PONG\r\n");
            const faulted = Date.now();
            fault();
            try {
                const at = await Promise.race([closed, sleep(boundMs).then(() => undefined)]);
                assert.ok(at !== undefined, `the session stayed open ${boundMs} ms after ${what}`);
                const r = await ping();
                assert.equal(r.reply, "", `a new connection reached the master after ${what}`);
                console.log(`      session cut ${at - faulted} ms after ${what}`);
            } finally {
                heal();
                pooled.destroy();
            }
            await waitFor("the master to be voted again", 5000, async () => (await ping()).reply === "+PONG\r\n");
        }

        it("cuts the sessions of a master that counts no replica within min-replicas-max-lag, and holds new ones", async function () {
            this.timeout(15000);
            await assertSessionCut(
                "the master counted no good replica",
                layout.haproxy.checkIntervalMs + 3000,
                () => (goodReplicas = 0),
                () => (goodReplicas = 2),
            );
        });

        it("cuts a pooled session once the Sentinels stop vouching for its master (s_down), and holds new ones", async function () {
            this.timeout(20000);
            // The node still answers role:master with good replicas: only the Sentinels' view changes.
            await assertSessionCut(
                "every Sentinel saw its master down",
                layout.haproxy.checkIntervalMs + FENCE_POLL_MS + 2000,
                () => (sentinels.flags = allFlags("s_down,o_down,master")),
                () => (sentinels.flags = allFlags("master")),
            );
        });

        it("lets one Sentinel that runs a failover of the master veto it, but not one that alone lost sight of it", async function () {
            this.timeout(20000);
            // The other two still name the master and see it healthy: a quorum of votes, and a veto.
            await assertSessionCut(
                "one Sentinel started a failover of its master",
                layout.haproxy.downIntervalMs + FENCE_POLL_MS + 2000,
                () => (sentinels.flags = ["master", "master", "o_down,master,failover_in_progress"]),
                () => (sentinels.flags = allFlags("master")),
            );
            sentinels.flags = ["master", "master", "s_down,master"];
            try {
                await sleep(layout.haproxy.checkIntervalMs + 500);
                assert.equal((await ping()).reply, "+PONG\r\n", "a lone Sentinel's s_down stopped the master");
            } finally {
                sentinels.flags = allFlags("master");
            }
        });

        it("counts the vote of a Sentinel that is promoting the node (its master entry is still the old master)", async function () {
            this.timeout(20000);
            // The Sentinels name node 0 and see it down: not voted.
            Object.assign(sentinels, { names: 0, entry: 0, flags: allFlags("s_down,o_down,master,failover_in_progress") });
            try {
                await waitFor("node 0 to lose its vote", 5000, async () => (await ping()).reply === "");
                // Now they name node 0 as the replica they promote, in place of node 1 (down).
                Object.assign(sentinels, { entry: 1 });
                await waitFor("node 0 to be voted", 5000, async () => (await ping()).reply === "+PONG\r\n");
            } finally {
                Object.assign(sentinels, { names: 0, entry: 0, flags: allFlags("master") });
            }
        });
    });

    describe("timings", () => {
        it("recommended: fast detection without the spurious double failover of 1000 ms", () => {
            assert.ok(
                recommendedTimings.sentinel.downAfterMilliseconds >= 2000 && recommendedTimings.sentinel.downAfterMilliseconds <= 3000,
            );
            assert.ok(recommendedTimings.sentinel.failoverTimeout <= 10000);
            assert.equal(recommendedTimings.replDisklessSyncDelay, 0);
            assert.ok(
                recommendedTimings.haproxy.fastFail &&
                    recommendedTimings.haproxy.shutdownSessions &&
                    recommendedTimings.haproxy.markDownOnConnectError,
            );
        });

        it("spaces crash faults by 2 x failover-timeout plus margin", () => {
            assert.equal(minimumFaultSpacingMs(recommendedTimings.sentinel), 13000);
            assert.ok(minimumFaultSpacingMs(chartBaselineTimings.sentinel) > 360000);
        });

        it("bounds the preStop hook", () => {
            const s = preStopBudgetSeconds(loopback());
            assert.ok(s > 5 && s < 60, String(s));
        });
    });

    describe("validation", () => {
        const problems = (o: Partial<RedisHaLayout>): string => validateRedisHaLayout(loopback(o)).join("\n");

        it("accepts the loopback and Kubernetes layouts", () => {
            assert.deepEqual(validateRedisHaLayout(loopback()), []);
            assert.deepEqual(validateRedisHaLayout(k8s()), []);
        });

        it("needs an odd number of at least 3 nodes", () => {
            assert.match(
                problems({ nodes: loopbackNodes.slice(0, 1), quorum: 1 }),
                /nodes: 1 node\(s\); Sentinel HA needs an odd number >= 3/,
            );
            const four = [...loopbackNodes, { host: "127.0.0.1", redisPort: 6390, sentinelPort: 26390 }];
            assert.match(problems({ nodes: four, quorum: 3 }), /nodes: 4 node\(s\); .*odd number/);
        });

        it("needs a majority quorum", () => {
            assert.match(problems({ quorum: 1 }), /quorum: 1 must be a majority of the 3 Sentinels \(2-3\)/);
            assert.match(problems({ quorum: 4 }), /quorum: 4 must be a majority/);
        });

        it("checks ports, hosts and clashes", () => {
            const bad = [
                { host: "127.0.0.1", redisPort: 70000, sentinelPort: 26380 },
                { host: "bad host", redisPort: 6381, sentinelPort: 6381 },
                loopbackNodes[2],
            ];
            const p = problems({ nodes: bad });
            assert.match(p, /nodes\[0\]\.redisPort: 70000 is not a port \(1-65535\)/);
            assert.match(p, /nodes\[1\]\.host: "bad host" is not a host name or IP address/);
            assert.match(p, /nodes\[1\]\.sentinelPort: bad host:6381 is already used by nodes\[1\]\.redisPort/);
            assert.match(
                problems({ haproxy: { ...loopback().haproxy, port: 6380 } }),
                /haproxy\.port: 127\.0\.0\.1:6380 is already used by nodes\[0\]\.redisPort/,
            );
        });

        it("checks timings, replication and paths", () => {
            assert.match(
                problems({ sentinel: { downAfterMilliseconds: 500, failoverTimeout: 5000, parallelSyncs: 1 } }),
                /sentinel\.downAfterMilliseconds: 500 must be an integer in 1000-3600000 \(below 1000 ms/,
            );
            assert.match(problems({ minReplicasToWrite: 0 }), /minReplicasToWrite: 0 must be an integer in 1-2/);
            assert.match(problems({ replicaPriority: 0 }), /replicaPriority: 0 must be/);
            assert.match(problems({ paths: { ...KUBERNETES_PATHS, dataDir: "data" } }), /paths\.dataDir: "data" must be an absolute path/);
            assert.match(problems({ masterName: "my master" }), /masterName: "my master"/);
            assert.match(problems({ disabledCommands: ["CONFIG"] }), /CONFIG is used by Sentinel/);
        });

        it("renderRedisHaFiles throws every problem at once", () => {
            assert.throws(
                () => renderRedisHaFiles(loopback({ quorum: 1, minReplicasToWrite: 0 })),
                (e: unknown) =>
                    e instanceof RedisLayoutError &&
                    e.problems.length === 2 &&
                    /quorum/.test(e.message) &&
                    /minReplicasToWrite/.test(e.message),
            );
        });
    });

    describe("standalone", () => {
        it("reuses redis.conf and init.sh without Sentinel and without min-replicas", () => {
            const files = renderStandaloneRedisFiles(standaloneRedisLayout({ host: "redis-0.redis.a8.svc.cluster.local" }));
            assert.deepEqual(Object.keys(files).sort(), ["init.sh", "lib.sh", "redis.conf", "settings.env", "start-redis.sh"]);
            const redis = lines(files["redis.conf"]);
            assert.ok(redis.includes("min-replicas-to-write 0"));
            assert.ok(redis.includes("appendonly yes"));
            assert.ok(redis.includes(`requirepass "${PASSWORD_PLACEHOLDER}"`));
            assert.doesNotMatch(files["init.sh"] + files["lib.sh"], /SENTINEL get-master|sentinel\.conf|SENTINEL_CONF|replica-priority 0/);
            assert.doesNotMatch(files["settings.env"], /MASTER_NAME|QUORUM|NODE_/);
        });
    });

    describe("scripts (run with sh)", function () {
        let dir = "";
        const password = "Tr1cky/Pass=word+-_.~@:,";

        beforeEach(() => {
            dir = fs.mkdtempSync(path.join(os.tmpdir(), "redis-ha-config-"));
        });
        afterEach(() => {
            fs.rmSync(dir, { recursive: true, force: true });
        });

        function write(files: Record<string, string>): string {
            const t = path.join(dir, "templates");
            fs.mkdirSync(t);
            for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(t, name), text);
            fs.writeFileSync(path.join(dir, "password"), `${password}\n`);
            return t;
        }

        function run(script: string, env: Record<string, string>, args: string[] = []): { status: number | null; stderr: string } {
            const [shell, shellArgs] = podShell(script, ...args);
            const r = spawnSync(shell, shellArgs, {
                env: { PATH: process.env.PATH ?? "", [SCRIPT_ENV.passwordFile]: path.join(dir, "password"), ...env },
                encoding: "utf8",
                timeout: 30000,
            });
            return { status: r.status, stderr: r.stderr };
        }

        // Ports on which nothing listens: no Sentinel answers, as in a fresh cluster.
        const quiet = [1, 2, 3].map((i) => ({ host: "127.0.0.1", redisPort: 9 + i * 1000, sentinelPort: 10 + i * 1000 }));

        it("every variable the scripts read is set by settings.env, the scripts or the environment", () => {
            // NAME=... at the start of a line or after `VAR=x ` (an assignment for one command).
            const assigned = (text: string): string[] =>
                [...text.matchAll(/^\s*(?:[A-Za-z_]+=[^ ]* )?([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]);
            const read = (text: string): string[] =>
                [...text.replace(/^\s*#.*$/gm, "").matchAll(/\$\{?([A-Z][A-Z0-9_]*)/g)].map((m) => m[1]);
            const standalone = renderStandaloneRedisFiles(standaloneRedisLayout({ host: "r" }));
            // start-redis.sh's replica branch (it sources cluster.sh) never runs on a standalone node.
            delete standalone["start-redis.sh"];
            for (const [shape, files] of Object.entries({ ha: renderRedisHaFiles(k8s()), standalone })) {
                const known = new Set([...assigned(Object.values(files).join("\n")), "HOSTNAME"]);
                const scripts = Object.entries(files).filter(([name]) => name.endsWith(".sh"));
                const missing = new Set(scripts.flatMap(([, text]) => read(text)).filter((v) => !known.has(v)));
                assert.deepEqual([...missing], [], `${shape}: read but never set`);
            }
        });

        it("parse with sh -n under busybox ash (the image's shell) and dash", () => {
            const files = { ...renderRedisHaFiles(k8s()), ...renderStandaloneRedisFiles(standaloneRedisLayout({ host: "r" })) };
            for (const [name, text] of Object.entries(files)) {
                if (!name.endsWith(".sh")) continue;
                for (const [shell, args] of [podShell("-n"), ["dash", ["-n"]] as const]) {
                    const r = spawnSync(shell, args, { input: text, encoding: "utf8" });
                    assert.equal(r.status, 0, `${shell} ${name}: ${r.stderr}`);
                }
            }
        });

        const nodeEnv = (t: string, i: number): Record<string, string> => ({
            [SCRIPT_ENV.templateDir]: t,
            [SCRIPT_ENV.configDir]: path.join(dir, `n${i}`, "conf"),
            [SCRIPT_ENV.dataDir]: path.join(dir, `n${i}`, "data"),
            HOSTNAME: `redis-node-${i}`,
        });

        /** An empty redis-server with the password on node i's port of `quiet`: a peer that started as node 0's replica. */
        async function emptyPeer(i: number): Promise<ManagedProcess> {
            const { redisPort } = quiet[i];
            const args = [
                "--port",
                String(redisPort),
                "--bind",
                "127.0.0.1",
                "--requirepass",
                password,
                "--save",
                "",
                "--dir",
                dir,
                "--replicaof",
                "127.0.0.1",
                String(quiet[0].redisPort),
                "--masterauth",
                password,
            ];
            const { process: p } = launch(`peer-${i}`, "redis-server", args, {
                env: process.env,
                logFile: path.join(dir, `peer-${i}.log`),
            });
            const ep = { host: "127.0.0.1", port: redisPort };
            await waitFor(
                `redis on ${redisPort}`,
                10000,
                async () => (await command(ep, password, ["PING"], 500).catch(() => "")) === "PONG",
            );
            return p;
        }

        it("init.sh: fresh cluster, node 0 is master once a majority answers, others replicate node 0 and start unpromotable", async () => {
            const t = write(renderRedisHaFiles(buildRedisHaLayout({ nodes: quiet, bind: "127.0.0.1" })));
            const env = (i: number) => nodeEnv(t, i);
            const first = run(path.join(t, "init.sh"), env(1));
            assert.equal(first.status, 0, first.stderr);
            const peer = await emptyPeer(1);
            try {
                const r = run(path.join(t, "init.sh"), env(0));
                assert.equal(r.status, 0, r.stderr);
            } finally {
                await peer.stop(5000);
            }
            const r0 = lines(fs.readFileSync(path.join(dir, "n0", "conf", "redis.conf"), "utf8"));
            assert.ok(r0.includes(`requirepass "${password}"`) && r0.includes(`masterauth "${password}"`));
            assert.ok(
                r0.includes("port 1009") && r0.includes("replica-announce-ip 127.0.0.1") && r0.includes("replica-announce-port 1009"),
            );
            assert.ok(r0.includes(`dir "${path.join(dir, "n0", "data")}"`));
            assert.ok(!r0.some((l) => l.startsWith("replicaof")));
            const r1 = lines(fs.readFileSync(path.join(dir, "n1", "conf", "redis.conf"), "utf8"));
            assert.ok(r1.includes("replicaof 127.0.0.1 1009"));
            assert.ok(r1.includes("replica-priority 0"));
            const s1 = lines(fs.readFileSync(path.join(dir, "n1", "conf", "sentinel.conf"), "utf8"));
            assert.ok(s1.includes("sentinel monitor mymaster 127.0.0.1 1009 2"));
            assert.ok(s1.includes(`sentinel auth-pass mymaster "${password}"`));
            assert.ok(
                s1.includes("port 2010") && s1.includes("sentinel announce-ip 127.0.0.1") && s1.includes("sentinel announce-port 2010"),
            );
            // Templates stay untouched; runtime copies are private.
            assert.ok(!fs.readFileSync(path.join(t, "redis.conf"), "utf8").includes(password));
            assert.equal(fs.statSync(path.join(dir, "n1", "conf", "redis.conf")).mode & 0o077, 0);
        });

        it("init.sh: an empty node alone refuses to become master (a cold start, not a new cluster) within its bound", () => {
            const files = renderRedisHaFiles(buildRedisHaLayout({ nodes: quiet, bind: "127.0.0.1" }));
            const t = write({
                ...files,
                "settings.env": files["settings.env"].replace(/^EMPTY_MASTER_WAIT_SECONDS=.*$/m, "EMPTY_MASTER_WAIT_SECONDS=2"),
            });
            const started = Date.now();
            const r = run(path.join(t, "init.sh"), nodeEnv(t, 0), ["redis"]);
            assert.equal(r.status, 1);
            assert.match(r.stderr, /no data and 1 of 3 nodes answer: waiting up to 2s for 2, to tell a new cluster from a cold start/);
            assert.match(r.stderr, /only 1 of 3 nodes answered within 2s: refusing to start as master/);
            assert.ok(Date.now() - started < 10000, "bounded");
            assert.ok(!fs.existsSync(path.join(dir, "n0", "conf", "redis.conf")), "no config written");
        });

        it("init.sh: in a cold start a node follows the newest configuration of its Sentinel's file, and keeps its state", () => {
            const t = write(renderRedisHaFiles(buildRedisHaLayout({ nodes: quiet, bind: "127.0.0.1" })));
            const conf = path.join(dir, "n0", "conf");
            fs.mkdirSync(conf, { recursive: true });
            // What Sentinel rewrote after it failed over to node 2 (epoch 3) and before every node stopped.
            const state = [
                "sentinel config-epoch mymaster 3",
                "sentinel leader-epoch mymaster 3",
                "sentinel known-replica mymaster 127.0.0.1 1009",
                "sentinel known-sentinel mymaster 127.0.0.1 2010 0123456789abcdef0123456789abcdef01234567",
                "sentinel current-epoch 3",
            ];
            fs.writeFileSync(
                path.join(conf, "sentinel.conf"),
                ["port 1010", "sentinel monitor mymaster 127.0.0.1 3009 2", ...state, ""].join("\n"),
            );
            const r = run(path.join(t, "init.sh"), nodeEnv(t, 0));
            assert.equal(r.status, 0, r.stderr);
            assert.match(
                r.stderr,
                /master 127\.0\.0\.1:3009 from the newest Sentinel configuration \(epoch 3, from this node's sentinel\.conf\)/,
            );
            const redis = lines(fs.readFileSync(path.join(conf, "redis.conf"), "utf8"));
            assert.ok(redis.includes("replicaof 127.0.0.1 3009") && redis.includes("replica-priority 0"));
            const sentinel = lines(fs.readFileSync(path.join(conf, "sentinel.conf"), "utf8"));
            assert.ok(sentinel.includes("sentinel monitor mymaster 127.0.0.1 3009 2"));
            for (const l of state) assert.equal(sentinel.filter((x) => x === l).length, 1, l);
        });

        it("init.sh stops with a clear message when the image lacks a tool it decides by, instead of deciding without it", () => {
            const t = write(renderRedisHaFiles(buildRedisHaLayout({ nodes: quiet, bind: "127.0.0.1" })));
            const bin = path.join(dir, "bin");
            fs.mkdirSync(bin);
            const which = (cmd: string): string => spawnSync("sh", ["-c", `command -v ${cmd}`], { encoding: "utf8" }).stdout.trim();
            for (const cmd of [
                "busybox",
                "dirname",
                "redis-cli",
                "sed",
                "grep",
                "sort",
                "head",
                "tail",
                "tr",
                "cat",
                "date",
                "mkdir",
                "mv",
                "timeout",
            ])
                fs.symlinkSync(which(cmd), path.join(bin, cmd));
            const r = spawnSync(path.join(bin, "busybox"), ["sh", path.join(t, "init.sh")], {
                env: { ...nodeEnv(t, 0), PATH: bin, [SCRIPT_ENV.passwordFile]: path.join(dir, "password") },
                encoding: "utf8",
                timeout: 30000,
            });
            assert.equal(r.status, 1, r.stderr);
            assert.match(r.stderr, /the image has no awk \(this script needs: redis-cli awk sed/);
            assert.ok(!fs.existsSync(path.join(dir, "n0", "conf", "redis.conf")), "no config written");
        });

        it("init.sh keeps a Sentinel's own myid across restarts", () => {
            const t = write(renderRedisHaFiles(buildRedisHaLayout({ nodes: quiet, bind: "127.0.0.1" })));
            const conf = path.join(dir, "conf");
            const env = {
                [SCRIPT_ENV.templateDir]: t,
                [SCRIPT_ENV.configDir]: conf,
                [SCRIPT_ENV.dataDir]: path.join(dir, "data"),
                [SCRIPT_ENV.ordinal]: "2",
            };
            assert.equal(run(path.join(t, "init.sh"), env, ["sentinel"]).status, 0);
            const id = "0123456789abcdef0123456789abcdef01234567";
            fs.appendFileSync(
                path.join(conf, "sentinel.conf"),
                `sentinel myid ${id}\nsentinel known-sentinel mymaster 10.9.9.9 26379 ffff\n`,
            );
            assert.equal(run(path.join(t, "init.sh"), env, ["sentinel"]).status, 0);
            const s = lines(fs.readFileSync(path.join(conf, "sentinel.conf"), "utf8"));
            assert.equal(s.filter((l) => l === `sentinel myid ${id}`).length, 1);
            // The same master: what it learnt of the others stays.
            assert.equal(s.filter((l) => l.startsWith("sentinel known-sentinel mymaster 10.9.9.9 26379")).length, 1);
            assert.ok(!fs.existsSync(path.join(conf, "redis.conf")), "init.sh sentinel wrote redis.conf");
        });

        it("init.sh fails with clear messages", () => {
            const t = write(renderRedisHaFiles(buildRedisHaLayout({ nodes: quiet, bind: "127.0.0.1" })));
            const base = {
                [SCRIPT_ENV.templateDir]: t,
                [SCRIPT_ENV.configDir]: path.join(dir, "c"),
                [SCRIPT_ENV.dataDir]: path.join(dir, "d"),
            };
            const noOrdinal = run(path.join(t, "init.sh"), { ...base, HOSTNAME: "redis" });
            assert.equal(noOrdinal.status, 1);
            assert.match(noOrdinal.stderr, /cannot derive the node ordinal from HOSTNAME=redis: set REDIS_HA_ORDINAL/);
            const outOfRange = run(path.join(t, "init.sh"), { ...base, HOSTNAME: "redis-node-3" });
            assert.match(outOfRange.stderr, /ordinal 3 \(HOSTNAME=redis-node-3\) is out of range: the layout has 3 node/);
            const noFile = run(path.join(t, "init.sh"), {
                ...base,
                [SCRIPT_ENV.ordinal]: "0",
                [SCRIPT_ENV.passwordFile]: path.join(dir, "nope"),
            });
            assert.equal(noFile.status, 1);
            assert.match(noFile.stderr, /cannot read the password file .*nope/);
            fs.writeFileSync(path.join(dir, "bad"), 'pass word"\n');
            const badPw = run(path.join(t, "init.sh"), {
                ...base,
                [SCRIPT_ENV.ordinal]: "0",
                [SCRIPT_ENV.passwordFile]: path.join(dir, "bad"),
            });
            assert.equal(badPw.status, 1);
            assert.match(badPw.stderr, /unsupported characters/);
            assert.doesNotMatch(badPw.stderr, /pass word/);
            assert.match(
                run(path.join(t, "init.sh"), { ...base, [SCRIPT_ENV.ordinal]: "0" }, ["bogus"]).stderr,
                /unknown argument 'bogus'/,
            );
        });

        it("standalone init.sh writes a master config", () => {
            const t = write(renderStandaloneRedisFiles(standaloneRedisLayout({ host: "127.0.0.1", port: 7001 })));
            const r = run(path.join(t, "init.sh"), {
                [SCRIPT_ENV.templateDir]: t,
                [SCRIPT_ENV.configDir]: path.join(dir, "c"),
                [SCRIPT_ENV.dataDir]: path.join(dir, "d"),
                HOSTNAME: "redis-0",
            });
            assert.equal(r.status, 0, r.stderr);
            const c = lines(fs.readFileSync(path.join(dir, "c", "redis.conf"), "utf8"));
            assert.ok(c.includes("port 7001") && c.includes(`requirepass "${password}"`) && !c.some((l) => l.startsWith("replicaof")));
        });

        it("the scripts accept exactly the passwords whose characters the password rule allows", () => {
            const t = write(renderStandaloneRedisFiles(standaloneRedisLayout({ host: "127.0.0.1" })));
            const probe = path.join(dir, "probe.sh");
            fs.writeFileSync(probe, `SCRIPT_NAME=probe\n. "${t}/settings.env"\n. "${t}/lib.sh"\nload_password\n`);
            const candidates = [
                password,
                "abcdefghijklmnop",
                "pass word",
                'a"b',
                "a\\b",
                "a$b",
                "a'b",
                "a[b",
                "a]b",
                "a!b",
                "a*b",
                "a#b",
                "a;b",
                "é",
            ];
            for (const candidate of candidates) {
                fs.writeFileSync(path.join(dir, "password"), `${candidate}\n`);
                const r = run(probe, {});
                assert.equal(r.status === 0, REDIS_PASSWORD_PATTERN.test(candidate), `${JSON.stringify(candidate)}: ${r.stderr}`);
            }
            assert.ok(REDIS_PASSWORD_PATTERN.test(password));
            assert.ok(!REDIS_PASSWORD_PATTERN.test('a"b') && !REDIS_PASSWORD_PATTERN.test("a b") && !REDIS_PASSWORD_PATTERN.test("a\\b"));
        });
    });

    describe("prestop.sh", () => {
        it("pauses writes, waits for replicas, then asks a Sentinel of another node to fail over, with bounded waits", () => {
            const files = renderRedisHaFiles(loopback());
            const p = files["prestop.sh"];
            assert.match(files["settings.env"], /^PRESTOP_PAUSE_MS=\d+$/m);
            const pause = p.search(/CLIENT PAUSE "\$PRESTOP_PAUSE_MS" WRITE/);
            const catchUp = p.indexOf("master_repl_offset");
            const failover = p.indexOf('SENTINEL FAILOVER "$MASTER_NAME"');
            assert.ok(pause > 0 && catchUp > pause && failover > catchUp, "order: pause, catch-up, failover");
            assert.match(p, /role\)" = master \] \|\| \{ log "not the master: nothing to do"; exit 0; \}/);
            // Every loop has a deadline.
            assert.equal((p.match(/while \[ "\$\(now\)" -lt "\$_deadline" \]|\[ "\$\(now\)" -lt "\$_deadline" \] \|\|/g) ?? []).length, 2);
        });
    });
});
