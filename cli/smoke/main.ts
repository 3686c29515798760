/**
 * `npm run smoke`: does the control plane of a deployed stack serve sidecars? Runs the sidecar
 * journey (cli/smoke/journey.ts, shared with the system tests) once, or in a loop with
 * `--watch` for a fault drill. See USAGE in args.ts for flags and exit codes.
 */
import { randomBytes } from "crypto";
import { InputError } from "../errors";
import { REPO_ROOT } from "../repoRoot";
import { SmokeArgs, USAGE, parseArgs } from "./args";
import { Connection, directConnection, stackConnection } from "./connection";
import { runDrill } from "./drill";
import { runSidecarJourney } from "./journey";
import { renderDrill, renderJourney } from "./report";
import { ToolError, readStackOutputs, targetsFromOutputs } from "./stack";

async function connect(args: SmokeArgs): Promise<Connection> {
    if (args.stack === undefined) return directConnection(args.controller!, args.registry!, args.token);
    const targets = targetsFromOutputs(await readStackOutputs(args.stack, REPO_ROOT));
    return stackConnection(targets, args.token);
}

async function smoke(args: SmokeArgs): Promise<number> {
    const conn = await connect(args);
    try {
        const runId = args.runId ?? `smoke-${randomBytes(4).toString("hex")}`;
        const timeoutMs = args.timeoutSeconds * 1000;
        if (args.watchSeconds !== undefined) {
            const report = await runDrill(conn, { seconds: args.watchSeconds, timeoutMs, runId });
            process.stdout.write(renderDrill(report, conn.targets, args.format));
            return report.ok ? 0 : 1;
        }
        const report = await runSidecarJourney(conn.journeyTarget(), { timeoutMs, runId });
        process.stdout.write(renderJourney(report, conn.targets, args.format));
        return report.ok ? 0 : 1;
    } finally {
        await conn.close();
    }
}

function oneLine(message: string): string {
    return message
        .split("\n")
        .map((l) => l.trim())
        .filter((l) => l !== "")
        .join("; ");
}

async function main(argv: string[]): Promise<number> {
    try {
        const args = parseArgs(argv);
        if (args.help) {
            process.stdout.write(USAGE + "\n");
            return 0;
        }
        return await smoke(args);
    } catch (e) {
        const message = oneLine((e as Error)?.message ?? String(e));
        if (e instanceof InputError) {
            process.stderr.write(`smoke: ${message}\n`);
            return 2;
        }
        process.stderr.write(`smoke: ${e instanceof ToolError ? "" : "unexpected error: "}${message}\n`);
        return 3;
    }
}

if (require.main === module) {
    // Ctrl-C or a CI cancel: exiting runs the hook that stops the port-forwards.
    for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => process.exit(signal === "SIGINT" ? 130 : 143));
    main(process.argv.slice(2)).then((code) => process.exit(code));
}
