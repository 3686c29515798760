/**
 * The pure parts of the test cluster (harness/cluster): what the node agent writes to the API server,
 * what its proxy and DNS serve from Services and EndpointSlices, and the control plane's flags.
 * A wrong answer here is a cluster that lies to Pulumi's await logic or to the pods.
 */
import { strict as assert } from "assert";
import { answer, parseQuery } from "../../harness/cluster/agent/dns";
import { nodeStatus, volumeFor } from "../../harness/cluster/agent/main";
import { hostsFile, parentDirs, resolvConf } from "../../harness/cluster/agent/pod";
import { ContainerView, podStatus } from "../../harness/cluster/agent/podStatus";
import { dnsRecords, forwardsOf, loadBalancerAssignments } from "../../harness/cluster/agent/services";
import { CLUSTER_NETWORK, controlPlaneArgs } from "../../harness/cluster/controlPlane";
import { subjectOf } from "../../harness/cluster/pki";
import type { ClusterPki } from "../../harness/cluster/pki";

const service = (name: string, spec: Record<string, unknown>, status: Record<string, unknown> = {}) => ({
    metadata: { namespace: "ns", name },
    spec,
    status,
});
const slice = (svc: string, endpoints: unknown[], ports = [{ name: "http", port: 8080 }]) => ({
    metadata: { namespace: "ns", name: `${svc}-abc`, labels: { "kubernetes.io/service-name": svc } },
    ports,
    endpoints,
});

describe("test cluster: Services, EndpointSlices and DNS (pure)", () => {
    const web = service("web", {
        type: "NodePort",
        clusterIP: "10.96.0.20",
        ports: [
            { name: "http", port: 80, nodePort: 30080 },
            { name: "dns", port: 53, protocol: "UDP" },
        ],
    });
    const webSlice = slice("web", [
        { addresses: ["10.244.1.2"], conditions: { ready: true } },
        { addresses: ["10.244.2.2"], conditions: { ready: false } },
    ]);

    it("forwards a ClusterIP and each node's NodePort to the ready endpoints only, TCP only", () => {
        const forwards = forwardsOf([web], [webSlice], ["10.245.0.1", "10.245.0.2"]);
        assert.deepEqual(
            forwards.map((f) => f.key),
            ["10.96.0.20:80", "10.245.0.1:30080", "10.245.0.2:30080"],
        );
        for (const f of forwards) assert.deepEqual(f.backends, [{ ip: "10.244.1.2", port: 8080 }]);
    });

    it("forwards a LoadBalancer's ingress address on the Service port; a headless Service gets no listener", () => {
        const lb = service(
            "api",
            { type: "LoadBalancer", clusterIP: "10.96.0.30", ports: [{ name: "http", port: 6080 }] },
            {
                loadBalancer: { ingress: [{ ip: "10.246.0.1" }] },
            },
        );
        const headless = service("redis", { clusterIP: "None", ports: [{ name: "http", port: 6379 }] });
        const keys = forwardsOf([lb, headless], [slice("api", [{ addresses: ["10.244.1.3"] }])], []).map((f) => f.key);
        assert.deepEqual(keys, ["10.96.0.30:6080", "10.246.0.1:6080"]);
    });

    it("gives each LoadBalancer Service lacking one the lowest free address, keeping given ones", () => {
        const given = service("a", { type: "LoadBalancer" }, { loadBalancer: { ingress: [{ ip: "10.246.0.1" }] } });
        const waiting = [
            service("b", { type: "LoadBalancer" }),
            service("c", { type: "ClusterIP" }),
            service("d", { type: "LoadBalancer" }),
        ];
        const assigned = loadBalancerAssignments([given, ...waiting], CLUSTER_NETWORK.loadBalancerRange);
        assert.deepEqual(
            [...assigned],
            [
                ["ns/b", "10.246.0.2"],
                ["ns/d", "10.246.0.3"],
            ],
        );
    });

    it("names Services by ClusterIP, headless ones by their pods (not-ready ones only when published)", () => {
        const headless = service("redis", { clusterIP: "None" });
        const published = service("peers", { clusterIP: "None", publishNotReadyAddresses: true });
        const endpoints = [
            { addresses: ["10.244.1.5"], hostname: "redis-0", conditions: { ready: true } },
            { addresses: ["10.244.2.5"], hostname: "redis-1", conditions: { ready: false } },
        ];
        const records = dnsRecords([web, headless, published], [slice("redis", endpoints), slice("peers", endpoints)]);
        assert.deepEqual(records.get("web.ns.svc.cluster.local"), ["10.96.0.20"]);
        assert.deepEqual(records.get("redis.ns.svc.cluster.local"), ["10.244.1.5"]);
        assert.deepEqual(records.get("redis-0.redis.ns.svc.cluster.local"), ["10.244.1.5"]);
        assert.equal(records.get("redis-1.redis.ns.svc.cluster.local"), undefined);
        assert.deepEqual(records.get("peers.ns.svc.cluster.local"), ["10.244.1.5", "10.244.2.5"]);
    });
});

/** A DNS query for `name`, type A, with recursion desired. */
function query(id: number, name: string, type = 1): Buffer {
    const labels = name.split(".").map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, "ascii")]));
    const header = Buffer.from([id >> 8, id & 0xff, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    return Buffer.concat([header, ...labels, Buffer.from([0, 0, type, 0, 1])]);
}

describe("test cluster: the DNS wire format (pure)", () => {
    const records = new Map([["web.ns.svc.cluster.local", ["10.96.0.20", "10.96.0.21"]]]);

    it("answers a known name with its A records, case-insensitively", () => {
        const q = parseQuery(query(0x1234, "Web.NS.svc.cluster.local"));
        assert.ok(q);
        assert.equal(q.name, "web.ns.svc.cluster.local");
        const a = answer(q, records);
        assert.equal(a.readUInt16BE(0), 0x1234);
        assert.equal(a.readUInt16BE(2) & 0x000f, 0, "NOERROR");
        assert.equal(a.readUInt16BE(6), 2, "two answers");
        assert.deepEqual([...a.subarray(a.length - 4)], [10, 96, 0, 21]);
    });

    it("NXDOMAIN for an unknown name; no answer but NOERROR for another type of a known one", () => {
        const unknown = answer(parseQuery(query(1, "nope.ns.svc.cluster.local"))!, records);
        assert.equal(unknown.readUInt16BE(2) & 0x000f, 3);
        const aaaa = answer(parseQuery(query(2, "web.ns.svc.cluster.local", 28))!, records);
        assert.equal(aaaa.readUInt16BE(2) & 0x000f, 0);
        assert.equal(aaaa.readUInt16BE(6), 0);
    });

    it("ignores malformed queries", () => {
        assert.equal(parseQuery(Buffer.alloc(5)), undefined);
        assert.equal(parseQuery(query(3, "web.ns").subarray(0, 16)), undefined);
    });
});

describe("test cluster: what the node agent writes (pure)", () => {
    const running = (name: string, ready: boolean): ContainerView => ({
        name,
        image: "redis:7",
        ready,
        started: true,
        restartCount: 0,
        state: { running: { startedAt: "2026-01-01T00:00:00Z" } },
    });
    const view = (ready: boolean) => ({
        podIp: "10.244.1.9",
        hostIp: "10.245.0.1",
        startTime: "2026-01-01T00:00:00Z",
        sandboxReady: true,
        initialized: true,
        containers: [running("redis", true), running("sentinel", ready)],
    });
    const readyOf = (status: Record<string, unknown>) =>
        (status.conditions as { type: string; status: string; lastTransitionTime: string }[]).find((c) => c.type === "Ready")!;

    it("a pod is Ready only when every container is; a transition time moves only on a change", () => {
        const notReady = podStatus(view(false), undefined, "2026-01-01T00:00:01Z");
        assert.equal(notReady.phase, "Running");
        assert.equal(notReady.podIP, "10.244.1.9");
        assert.equal(readyOf(notReady).status, "False");
        const ready = podStatus(view(true), notReady, "2026-01-01T00:00:05Z");
        assert.equal(readyOf(ready).status, "True");
        assert.equal(readyOf(ready).lastTransitionTime, "2026-01-01T00:00:05Z");
        const still = podStatus(view(true), ready, "2026-01-01T00:00:09Z");
        assert.equal(readyOf(still).lastTransitionTime, "2026-01-01T00:00:05Z");
    });

    it("a pod whose containers have not started is Pending", () => {
        const waiting: ContainerView = { ...running("redis", false), started: false, state: { waiting: { reason: "ContainerCreating" } } };
        assert.equal(podStatus({ ...view(false), containers: [waiting] }, undefined, "2026-01-01T00:00:01Z").phase, "Pending");
    });

    it("a node reports Ready with its address and keeps the Ready transition time across heartbeats", () => {
        const node = { name: "node-a", zone: "zone-a", address: "10.245.0.1" };
        const first = nodeStatus(node, "v1.34.4", "2026-01-01T00:00:00Z");
        const later = nodeStatus(node, "v1.34.4", "2026-01-01T00:00:10Z", first);
        const ready = later.conditions.find((c: { type: string }) => c.type === "Ready");
        assert.equal(ready.status, "True");
        assert.equal(ready.lastTransitionTime, "2026-01-01T00:00:00Z");
        assert.equal(ready.lastHeartbeatTime, "2026-01-01T00:00:10Z");
        assert.deepEqual(later.addresses[0], { type: "InternalIP", address: "10.245.0.1" });
        assert.equal(later.nodeInfo.kubeletVersion, "v1.34.4");
    });

    it("a claim's volume is bound to it, sized as asked and pinned to the node it was made on", () => {
        const pvc = {
            metadata: { namespace: "ns", name: "data-redis-0", uid: "u-1" },
            spec: { resources: { requests: { storage: "2Gi" } }, accessModes: ["ReadWriteOnce"] },
        };
        const pv = volumeFor(pvc, "node-b", "/volumes/u-1");
        assert.equal(pv.metadata.name, "pvc-u-1");
        assert.equal(pv.spec.capacity.storage, "2Gi");
        assert.deepEqual(pv.spec.claimRef, {
            apiVersion: "v1",
            kind: "PersistentVolumeClaim",
            namespace: "ns",
            name: "data-redis-0",
            uid: "u-1",
        });
        assert.deepEqual(pv.spec.nodeAffinity.required.nodeSelectorTerms[0].matchExpressions[0].values, ["node-b"]);
    });

    it("pods get a hosts file with their own names and a resolv.conf pointing at the cluster DNS", () => {
        assert.match(
            hostsFile("10.244.1.9", "redis-0", "redis", "ns"),
            /^10\.244\.1\.9\tredis-0\.redis\.ns\.svc\.cluster\.local redis-0$/m,
        );
        assert.match(hostsFile("10.244.1.9", "web-x", undefined, "ns"), /^10\.244\.1\.9\tweb-x$/m);
        const resolv = resolvConf("ns");
        assert.match(resolv, /^search ns\.svc\.cluster\.local svc\.cluster\.local cluster\.local$/m);
        assert.match(resolv, new RegExp(`^nameserver ${CLUSTER_NETWORK.dnsServiceIp.replace(/\./g, "\\.")}$`, "m"));
    });

    it("mount points get their parent directories, once each, never under /usr, /proc or /dev", () => {
        assert.deepEqual(parentDirs(["/etc/redis/redis.conf", "/etc/redis/sentinel.conf", "/usr/local/bin/x", "/data/x/"]), [
            "/etc",
            "/etc/redis",
            "/data",
        ]);
    });
});

describe("test cluster: the control plane (pure)", () => {
    const pki = {
        dir: "/run/pki",
        caCert: "/run/pki/ca.crt",
        caKey: "/run/pki/ca.key",
        serverCert: "/run/pki/apiserver.crt",
        serverKey: "/run/pki/apiserver.key",
        kubeletCert: "/run/pki/kubelet.crt",
        kubeletKey: "/run/pki/kubelet.key",
        serviceAccountKey: "/run/pki/sa.key",
        serviceAccountPub: "/run/pki/sa.pub",
        client: (name: string) => ({ cert: `/run/pki/${name}.crt`, key: `/run/pki/${name}.key` }),
    } as unknown as ClusterPki;

    it("the API server has PodSecurity admission, RBAC with the Node authorizer, and the cluster's ranges", () => {
        const args = controlPlaneArgs("/run/a8", pki)["kube-apiserver"];
        const flag = (name: string) =>
            args
                .find((a) => a.startsWith(`--${name}=`))
                ?.split("=")
                .slice(1)
                .join("=");
        // PodSecurity is on by default: nothing may turn it off.
        assert.doesNotMatch(flag("disable-admission-plugins") ?? "", /PodSecurity/);
        assert.match(flag("enable-admission-plugins") ?? "", /NodeRestriction/);
        assert.match(flag("authorization-mode") ?? "", /Node/);
        assert.match(flag("authorization-mode") ?? "", /RBAC/);
        assert.equal(flag("service-cluster-ip-range"), CLUSTER_NETWORK.serviceCidr);
    });

    it("client certificates carry each group as O and the user as CN", () => {
        assert.equal(subjectOf({ user: "a8-test-admin", groups: ["system:masters"] }), "/O=system:masters/CN=a8-test-admin");
        assert.equal(subjectOf({ user: "system:kube-scheduler", groups: [] }), "/CN=system:kube-scheduler");
    });
});
