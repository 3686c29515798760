/**
 * `npm run check`: the policy pack's verdict on a stack or on manifests, without a Pulumi CLI.
 * See USAGE in args.ts for flags and exit codes.
 */
import * as path from "path";
import { InputError } from "../errors";
import { CheckArgs, USAGE, parseArgs } from "./args";
import { ownedFiles, writeObjects } from "./out";
import { Diagnostic, PolicyPackProcess } from "./packRunner";
import { PolicyConfigFile, choosePolicyConfig, loadPolicyConfigFile, relaxAdvice, resolvePolicySettings } from "./policyConfig";
import { CheckReport, ResourceRow, SchemaError, Violation, exitCode, renderJson, renderText } from "./report";
import { CheckResource, STDIN, loadManifests, withObject } from "./resources";
import { K8sObject } from "../../policy/lib/k8s";
import { validateSchema } from "./schema";
import { REPO_ROOT } from "../repoRoot";
import { POLICY_DIR } from "./packBuild";

const POLICY_CONFIG_DIR = path.join(POLICY_DIR, "config");

function defaultPolicyConfig(args: CheckArgs): string | undefined {
    return choosePolicyConfig(POLICY_CONFIG_DIR, args).file;
}

const { lazyModule }: { lazyModule: (file: string) => () => boolean } = require("./lazyModule");

async function programResources(args: CheckArgs): Promise<{ title: string; load: () => Promise<CheckResource[]> }> {
    // @pulumi/pulumi loads the TypeScript compiler (0.4 CPU s) for closure serialization, which a
    // program run under the mock monitor never does: load it only if something does use it.
    lazyModule(require.resolve("@pulumi/pulumi/typescript-shim"));
    // Loaded on demand: the program runtime (@pulumi/pulumi) is not needed for manifests.
    const { loadStackConfig } = await import("../program/stackConfig");
    const { runProgram } = await import("../program/runProgram");
    const { withEngineUrns } = await import("../program/engineUrns");
    const projectDir = path.resolve(args.projectDir ?? REPO_ROOT);
    const config = loadStackConfig(projectDir, args.stack!);
    return {
        title: `Checking ${config.project} (stack ${config.stack})`,
        load: async () => {
            // Keep stdout for the report: whatever the program logs goes to stderr.
            const log = console.log;
            const info = console.info;
            console.log = console.error;
            console.info = console.error;
            try {
                const run = await runProgram(config);
                return withEngineUrns(run.resources).map((r) =>
                    withObject({
                        urn: r.urn,
                        type: r.type,
                        name: r.name,
                        props: r.inputs,
                        custom: r.custom,
                        ...(r.parent ? { parent: r.parent } : {}),
                    }),
                );
            } finally {
                console.log = log;
                console.info = info;
            }
        },
    };
}

function rel(p: string): string {
    const r = path.relative(process.cwd(), p);
    return r && !r.startsWith("..") ? r : p;
}

export interface CheckOutcome {
    report: CheckReport;
    /** The Kubernetes objects checked, for --out. */
    objects: K8sObject[];
}

export async function check(args: CheckArgs): Promise<CheckOutcome> {
    const configFile = defaultPolicyConfig(args);
    const policyConfig: PolicyConfigFile | undefined = configFile ? loadPolicyConfigFile(configFile) : undefined;

    let title: string;
    let load: () => Promise<CheckResource[]>;
    if (args.manifests !== undefined) {
        const resources = loadManifests(args.manifests);
        title = `Checking manifests ${args.manifests === STDIN ? "from standard input" : args.manifests}`;
        load = async () => resources;
    } else {
        ({ title, load } = await programResources(args));
    }

    // Start the pack while the program runs: both take about a second.
    const packStarting = PolicyPackProcess.start(POLICY_DIR);
    packStarting.catch(() => undefined);
    try {
        const resources = await load();
        const pack = await packStarting;
        const info = await pack.info();
        await pack.configure(resolvePolicySettings(info.policies, policyConfig, configFile ? rel(configFile) : "policy config"));

        const rows: ResourceRow[] = [];
        const errors: SchemaError[] = [];
        const notes: string[] = [];
        for (const r of resources) {
            const row: ResourceRow = { urn: r.urn, type: r.type, name: r.name };
            if (r.object && r.ref) {
                row.object = r.ref;
                if (typeof r.object.metadata?.namespace === "string") row.namespace = r.object.metadata.namespace;
                const s = validateSchema(r.object);
                row.schema = s.status;
                if (s.status === "invalid") errors.push({ resource: r.ref, message: s.message });
                if (s.status === "unknown") notes.push(`${r.ref}: ${s.message}`);
            }
            rows.push(row);
        }

        const diags: Diagnostic[] = (await pack.analyzeAll(resources)).flat();
        diags.push(...(await pack.analyzeStack(resources)));

        const byUrn = new Map(resources.map((r) => [r.urn, r]));
        const violations: Violation[] = diags
            .filter((d) => d.enforcementLevel === "advisory" || d.enforcementLevel === "mandatory")
            .map((d) => ({
                policy: d.policy,
                enforcementLevel: d.enforcementLevel as "advisory" | "mandatory",
                ...(byUrn.get(d.urn)?.ref ? { resource: byUrn.get(d.urn)!.ref, urn: d.urn } : {}),
                message: d.message,
            }));
        await pack.stop();
        const report: CheckReport = {
            title,
            pack: `${info.name}@${info.version}`,
            policyConfig: configFile ? rel(configFile) : undefined,
            resources: rows,
            violations,
            errors,
            notes,
        };
        return { report, objects: resources.filter((r) => r.object).map((r) => r.object!) };
    } finally {
        await packStarting.then(
            (p) => p.stop(),
            () => undefined,
        );
    }
}

async function main(argv: string[]): Promise<number> {
    let args: CheckArgs;
    try {
        args = parseArgs(argv);
        if (args.help) {
            process.stdout.write(USAGE + "\n");
            return 0;
        }
        // A folder --out may not write into is refused before the (slow) check runs.
        if (args.out) ownedFiles(args.out);
        const { report, objects } = await check(args);
        if (args.out) {
            try {
                writeObjects(args.out, objects);
            } catch (e) {
                if (e instanceof InputError) throw e;
                throw new InputError(`cannot write --out ${args.out}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
            }
        }
        process.stdout.write(args.json ? renderJson(report) : renderText(report));
        const broken = report.violations.filter((v) => v.enforcementLevel === "mandatory").map((v) => v.policy);
        const advice =
            args.stack === undefined ? undefined : relaxAdvice(args.stack, choosePolicyConfig(POLICY_CONFIG_DIR, args), broken, rel);
        if (advice) process.stderr.write(`check: ${advice.split("\n").join("\n       ")}\n`);
        return exitCode(report);
    } catch (e) {
        if (e instanceof InputError || (e as Error)?.name === "InputError") {
            // One line: multi-line messages (e.g. every invalid config key) are joined.
            const oneLine = (e as Error).message
                .split("\n")
                .map((l) => l.trim())
                .filter((l) => l !== "")
                .join("; ")
                .replace(/:; /g, ": ");
            process.stderr.write(`check: ${oneLine}\n`);
            return 2;
        }
        process.stderr.write(`check: ${(e as Error)?.message ?? String(e)}\n`);
        return 3;
    }
}

if (require.main === module) {
    main(process.argv.slice(2)).then((code) => {
        // Pipes and files are written synchronously on Linux, so exiting now loses no output;
        // it also ends handles the program run may have left open.
        process.exit(code);
    });
}
