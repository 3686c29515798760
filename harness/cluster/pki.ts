/**
 * The certificates and keys of one test cluster, made with openssl for each run: a CA, the API
 * server's serving certificate, a client certificate per identity, and the service-account signing
 * key pair. Nothing is reused between runs; the files are 0600 in the run's folder.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";

/** A client identity: the API server reads the user from CN and the groups from O. */
export interface ClientIdentity {
    readonly file: string;
    readonly user: string;
    readonly groups: readonly string[];
}

export interface ClusterPki {
    readonly dir: string;
    readonly caCert: string;
    readonly caKey: string;
    readonly serverCert: string;
    readonly serverKey: string;
    /** The kubelet's serving certificate (naming every node address) and key. */
    readonly kubeletCert: string;
    readonly kubeletKey: string;
    readonly serviceAccountKey: string;
    readonly serviceAccountPub: string;
    /** Client certificate and key files of an identity, by its `file` name. */
    client(file: string): { cert: string; key: string };
}

const OPENSSL_TIMEOUT_MS = 20_000;
const VALID_DAYS = "2";

function openssl(args: readonly string[], cwd: string): void {
    execFileSync("openssl", args, { cwd, stdio: ["ignore", "ignore", "pipe"], timeout: OPENSSL_TIMEOUT_MS });
}

/** The subject of an identity, groups first as openssl orders the RDNs it is given. */
export function subjectOf(identity: Pick<ClientIdentity, "user" | "groups">): string {
    return [...identity.groups.map((g) => `/O=${g}`), `/CN=${identity.user}`].join("");
}

/** The x509v3 extensions of a leaf certificate (serving when `altNames` are given, else client). */
export function leafExtensions(altNames?: { readonly ips: readonly string[]; readonly dns: readonly string[] }): string {
    const lines = ["basicConstraints = critical, CA:FALSE", "keyUsage = critical, digitalSignature, keyEncipherment"];
    if (altNames) {
        lines.push("extendedKeyUsage = serverAuth");
        lines.push(`subjectAltName = ${[...altNames.ips.map((ip) => `IP:${ip}`), ...altNames.dns.map((d) => `DNS:${d}`)].join(", ")}`);
    } else {
        lines.push("extendedKeyUsage = clientAuth");
    }
    return `${lines.join("\n")}\n`;
}

function newLeaf(dir: string, name: string, subject: string, extensions: string): void {
    fs.writeFileSync(path.join(dir, `${name}.ext`), extensions);
    openssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", `${name}.key`], dir);
    openssl(["req", "-new", "-key", `${name}.key`, "-subj", subject, "-out", `${name}.csr`], dir);
    openssl(
        ["x509", "-req", "-in", `${name}.csr`, "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial"].concat([
            "-days",
            VALID_DAYS,
            "-sha256",
            "-extfile",
            `${name}.ext`,
            "-out",
            `${name}.crt`,
        ]),
        dir,
    );
    fs.rmSync(path.join(dir, `${name}.csr`));
    fs.rmSync(path.join(dir, `${name}.ext`));
}

/**
 * Generates the cluster's PKI in `dir` (created 0700): the API server's certificate names `serverIps`
 * and the in-cluster names of the `kubernetes` Service, the kubelet's names `nodeIps`.
 */
export function generatePki(
    dir: string,
    serverIps: readonly string[],
    nodeIps: readonly string[],
    identities: readonly ClientIdentity[],
): ClusterPki {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    openssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "ca.key"], dir);
    openssl(["req", "-x509", "-new", "-key", "ca.key", "-subj", "/CN=a8-test-cluster-ca", "-days", VALID_DAYS, "-out", "ca.crt"], dir);
    const dns = ["localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"];
    newLeaf(dir, "apiserver", "/CN=kube-apiserver", leafExtensions({ ips: serverIps, dns }));
    newLeaf(dir, "kubelet", "/CN=a8-test-kubelet", leafExtensions({ ips: nodeIps, dns: [] }));
    for (const id of identities) newLeaf(dir, id.file, subjectOf(id), leafExtensions());
    openssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "sa.key"], dir);
    openssl(["ec", "-in", "sa.key", "-pubout", "-out", "sa.pub"], dir);
    for (const f of fs.readdirSync(dir)) fs.chmodSync(path.join(dir, f), 0o600);
    const at = (f: string): string => path.join(dir, f);
    return {
        dir,
        caCert: at("ca.crt"),
        caKey: at("ca.key"),
        serverCert: at("apiserver.crt"),
        serverKey: at("apiserver.key"),
        kubeletCert: at("kubelet.crt"),
        kubeletKey: at("kubelet.key"),
        serviceAccountKey: at("sa.key"),
        serviceAccountPub: at("sa.pub"),
        client: (file) => ({ cert: at(`${file}.crt`), key: at(`${file}.key`) }),
    };
}
