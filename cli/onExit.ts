/**
 * Clean-ups that must run however this process ends: a normal exit, an uncaught error, or a
 * signal (Ctrl-C, a CI runner's SIGTERM), which Node's own "exit" event misses. One registry for
 * every tool and test: the processes it started and their temp dirs, network namespaces,
 * port-forwards. A clean-up must be synchronous, as at exit nothing else runs.
 */
import { onExit as onSignalExit } from "signal-exit";

const cleanups = new Set<() => void>();
let installed = false;

/** Runs `cleanup` when this process ends; the returned function unregisters it. */
export function onExit(cleanup: () => void): () => void {
    if (!installed) {
        installed = true;
        onSignalExit(() => {
            for (const c of cleanups) {
                try {
                    c();
                } catch {
                    // the others still run; what is left is removed by the next run's orphan checks
                }
            }
        });
    }
    cleanups.add(cleanup);
    return () => cleanups.delete(cleanup);
}
