/**
 * `--out` writes into a folder it owns and never deletes or overwrites a file it did not write.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { InputError } from "../../cli/errors";
import { OUT_MARKER, ownedFiles, writeObjects } from "../../cli/check/out";
import { K8sObject } from "../../policy/lib/k8s";
import { GOOD, runCheck } from "./helpers";

const object = (kind: string, name: string, namespace = "amalgam8"): K8sObject => ({
    apiVersion: kind === "Deployment" ? "apps/v1" : "v1",
    kind,
    metadata: { name, namespace },
});

/** Every file under `dir` with its content, relative paths sorted. */
function tree(dir: string): Record<string, string> {
    const out: Record<string, string> = {};
    const walk = (d: string) => {
        for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
            const full = path.join(d, e.name);
            if (e.isDirectory()) walk(full);
            else out[path.relative(dir, full)] = e.isSymbolicLink() ? `-> ${fs.readlinkSync(full)}` : fs.readFileSync(full, "utf8");
        }
    };
    walk(dir);
    return out;
}

function write(file: string, text: string): void {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
}

const refused = (pattern: RegExp) => (e: Error) => e instanceof InputError && pattern.test(e.message);

describe("check --out: a folder of its own", () => {
    let tmp: string;
    beforeEach(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), "check-out-unit-"))));
    afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

    it("creates a new folder and lists what it wrote in the marker", () => {
        const out = path.join(tmp, "rendered", "dev");
        const written = writeObjects(out, [object("Deployment", "controller"), object("Namespace", "amalgam8")]);
        assert.deepEqual(written, ["_cluster/namespace-amalgam8.yaml", "amalgam8/deployment-controller.yaml"]);
        assert.deepEqual(Object.keys(tree(out)).sort(), [OUT_MARKER, ...written].sort());
        assert.deepEqual(ownedFiles(out), written);
    });

    it("replaces only its own files: stale ones go, a file the user put there survives", () => {
        const out = path.join(tmp, "rendered");
        writeObjects(out, [object("Deployment", "controller"), object("Deployment", "gone", "old-ns")]);
        write(path.join(out, "NOTES.txt"), "mine\n");
        write(path.join(out, "amalgam8", "my-patch.yaml"), "kind: Mine\n");
        write(path.join(out, "old-ns", "keep.yaml"), "kind: Mine\n");
        const first = tree(out);

        writeObjects(out, [object("Deployment", "controller")]);
        const second = tree(out);
        assert.equal(second["NOTES.txt"], "mine\n");
        assert.equal(second["amalgam8/my-patch.yaml"], "kind: Mine\n");
        assert.equal(second["old-ns/keep.yaml"], "kind: Mine\n", "a user's file in a folder check emptied");
        assert.equal(second["old-ns/deployment-gone.yaml"], undefined, "the stale file check wrote is removed");
        assert.equal(
            second["amalgam8/deployment-controller.yaml"],
            first["amalgam8/deployment-controller.yaml"],
            "byte-identical on a second run",
        );
        assert.deepEqual(ownedFiles(out), ["amalgam8/deployment-controller.yaml"]);
    });

    it("removes the folders that only held its stale files", () => {
        const out = path.join(tmp, "rendered");
        writeObjects(out, [object("Deployment", "a", "ns-a"), object("Deployment", "b", "ns-b")]);
        writeObjects(out, [object("Deployment", "a", "ns-a")]);
        assert.ok(!fs.existsSync(path.join(out, "ns-b")));
    });

    it("refuses a non-empty folder it did not write, touching nothing (the `--out .` of a checkout)", () => {
        const project = path.join(tmp, "project");
        write(path.join(project, "Pulumi.yaml"), "name: a8-control-plane\n");
        write(path.join(project, "Pulumi.dev.yaml"), "config: {}\n");
        write(path.join(project, "policy", "PulumiPolicy.yaml"), "runtime: nodejs\n");
        write(path.join(project, "node_modules", "pkg", "x.yaml"), "a: 1\n");
        const before = tree(project);
        const notWrittenByCheck = new RegExp(
            /^--out .*project: the folder is not empty and was not written by check /.source +
                /\(it has no \.check-out\.json\); give a new or empty folder/.source,
        );
        assert.throws(() => writeObjects(project, [object("Deployment", "controller")]), refused(notWrittenByCheck));
        assert.deepEqual(tree(project), before);
    });

    it("refuses to overwrite a file it did not write, before writing anything", () => {
        const out = path.join(tmp, "rendered");
        writeObjects(out, [object("Deployment", "controller")]);
        write(path.join(out, "amalgam8", "deployment-registry.yaml"), "kind: Mine\n");
        const before = tree(out);
        assert.throws(
            () => writeObjects(out, [object("Deployment", "controller"), object("Deployment", "registry")]),
            refused(/would overwrite amalgam8\/deployment-registry\.yaml, which check did not write/),
        );
        assert.deepEqual(tree(out), before);
    });

    it("refuses a file given as the folder, and a marker it did not write", () => {
        const file = path.join(tmp, "Pulumi.yaml");
        write(file, "name: x\n");
        assert.throws(() => writeObjects(file, []), refused(/is a file, not a folder/));
        assert.equal(fs.readFileSync(file, "utf8"), "name: x\n");

        const out = path.join(tmp, "forged");
        write(path.join(tmp, "outside.yaml"), "precious\n");
        write(path.join(out, OUT_MARKER), JSON.stringify({ writtenBy: "npm run check -- --out", files: ["../outside.yaml"] }));
        assert.throws(() => writeObjects(out, []), refused(/\.check-out\.json is not a list of files written by check/));
        assert.equal(fs.readFileSync(path.join(tmp, "outside.yaml"), "utf8"), "precious\n");
    });

    it("never follows a link out of its folder, nor lets an object's namespace escape it", () => {
        const out = path.join(tmp, "rendered");
        const elsewhere = path.join(tmp, "elsewhere");
        write(path.join(elsewhere, "deployment-x.yaml"), "precious\n");
        writeObjects(out, [object("Deployment", "x", "ns")]);
        fs.rmSync(path.join(out, "ns"), { recursive: true });
        fs.symlinkSync(elsewhere, path.join(out, "ns"));
        writeObjects(out, []);
        assert.equal(fs.readFileSync(path.join(elsewhere, "deployment-x.yaml"), "utf8"), "precious\n");

        const fresh = path.join(tmp, "fresh");
        const [p] = writeObjects(fresh, [object("Deployment", "x", "..")]);
        assert.ok(fs.existsSync(path.join(fresh, p)) && !p.startsWith(".."), p);
    });

    it("the CLI refuses a foreign folder at once with one line, exit 2, and leaves it as it was", async function () {
        this.timeout(120_000);
        const project = path.join(tmp, "checkout");
        write(path.join(project, "Pulumi.yaml"), "name: a8-control-plane\n");
        write(path.join(project, "tests", "fixtures", "a.yaml"), "a: 1\n");
        const before = tree(project);
        const r = await runCheck(["--manifests", GOOD, "--out", project]);
        assert.equal(r.code, 2, r.stderr);
        assert.equal(r.stdout, "");
        assert.match(r.stderr, /^check: --out .*checkout: the folder is not empty and was not written by check/);
        assert.equal(r.stderr.trimEnd().split("\n").length, 1);
        assert.deepEqual(tree(project), before);
    });
});
