/** What the benchmark commands share: progress on stderr, flag errors, signals and exit codes. */
import { InputError } from "../../cli/errors";

/** Progress and tables that must not mix with the one JSON line on stdout. */
export const log = (msg: string): void => {
    process.stderr.write(`${msg}\n`);
};

/**
 * Runs a benchmark command: a bad flag (an InputError from `parse`) prints `<name>: <why>; <usage>`
 * and exits 2; SIGINT or SIGTERM exits 130; an error exits 1; otherwise `run`'s exit code.
 */
export function runBenchmarkCommand<O>(
    name: string,
    usage: string,
    parse: (argv: string[]) => O,
    run: (options: O) => Promise<number>,
): void {
    const main = async (): Promise<number> => {
        let options: O;
        try {
            options = parse(process.argv.slice(2));
        } catch (e) {
            if (e instanceof InputError) {
                process.stderr.write(`${name}: ${e.message}; ${usage}\n`);
                return 2;
            }
            throw e;
        }
        for (const sig of ["SIGINT", "SIGTERM"] as const) {
            process.once(sig, () => {
                log(`${name}: ${sig}, stopping`);
                // The loopback harness kills every process it started on exit.
                process.exit(130);
            });
        }
        return run(options);
    };
    main().then(
        (code) => process.exit(code),
        (e: unknown) => {
            process.stderr.write(`${name}: ${e instanceof Error ? e.message : String(e)}\n`);
            process.exit(1);
        },
    );
}
