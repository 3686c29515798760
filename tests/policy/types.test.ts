import * as assert from "assert";
import * as path from "path";
import * as ts from "typescript";

const POLICY = path.join(__dirname, "..", "..", "policy");

/** Type-checks `body` as a module of the pack (beside policy/index.ts, with the pack's tsconfig). */
function compileErrors(body: string): string[] {
    const file = path.join(POLICY, "lib", "typesProbe.ts");
    const config = ts.getParsedCommandLineOfConfigFile(
        path.join(POLICY, "tsconfig.json"),
        {},
        {
            ...ts.sys,
            onUnRecoverableConfigFileDiagnostic: (d) => assert.fail(ts.flattenDiagnosticMessageText(d.messageText, "\n")),
        },
    )!;
    const host = ts.createCompilerHost(config.options);
    const readFile = host.readFile.bind(host);
    host.readFile = (name) => (path.resolve(name) === file ? body : readFile(name));
    const fileExists = host.fileExists.bind(host);
    host.fileExists = (name) => path.resolve(name) === file || fileExists(name);
    const program = ts.createProgram([file], { ...config.options, noEmit: true }, host);
    return ts
        .getPreEmitDiagnostics(program)
        .filter((d) => d.file && path.resolve(d.file.fileName) === file)
        .map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n"));
}

describe("policy pack: the rules read pods and specs through the API's types", function () {
    this.timeout(60_000);

    it("a misspelt container, security-context or spec field does not compile, so no rule can read it and pass for ever", () => {
        const errors = compileErrors(`
            import { K8sObject, PodTemplate, allContainersOf, containerPorts, specOf } from "./k8s";
            export function read(pod: PodTemplate, obj: K8sObject): unknown[] {
                return allContainersOf(pod.spec).map((c) => [
                    c.securityContext?.runAsNonRoot, containerPorts(c)[0]?.containerPort, pod.spec.topologySpreadConstraints,
                    specOf(obj, "Service").externalIPs, specOf(obj, "HorizontalPodAutoscaler").minReplicas,
                    c.securityContext?.runAsNonRot,
                    c.livenessprobe,
                    specOf(obj, "Service").externalIps,
                    specOf(obj, "HorizontalPodAutoscaler").minReplica,
                ]);
            }`);
        assert.deepStrictEqual(
            errors.map((e) => /Property '(\w+)' does not exist/.exec(e)?.[1] ?? e),
            ["runAsNonRot", "livenessprobe", "externalIps", "minReplica"],
            "only the misspelt fields are errors",
        );
    });
});
