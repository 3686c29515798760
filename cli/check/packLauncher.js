/**
 * `node packLauncher.js <engine-address> <pack dir>`: starts a compiled policy pack the way
 * `@pulumi/pulumi/cmd/run-policy-pack` does (same arguments; from the pack folder, `require`s it,
 * and the pack's Analyzer server prints its port on stdout), without what the pack does not use:
 * - run-policy-pack registers ts-node, which loads the TypeScript compiler, even when `main` is
 *   JavaScript;
 * - `@pulumi/policy` requires the `@pulumi/pulumi` index (about a CPU second: the whole SDK) only
 *   to build asset and archive objects, which Kubernetes inputs never contain; here that index is
 *   loaded on its first use instead.
 * The Pulumi CLI keeps using its own launcher. Plain JavaScript so that nothing has to be
 * transpiled before the pack starts.
 */
"use strict";
const path = require("path");
const { lazyModule } = require("./lazyModule");

function main(argv) {
    const [engine, dir] = argv;
    if (!engine || !dir) {
        console.error("usage: packLauncher.js <engine-address> <pack dir>");
        process.exit(255);
    }
    const packDir = path.resolve(dir);
    // Stack traces in the errors the pack returns name the TypeScript lines, as with source-map-support.
    process.setSourceMapsEnabled(true);
    process.chdir(packDir);
    process.argv = [process.argv[0], process.argv[1]];

    // As run-policy-pack: an error after the start is logged and the server keeps answering.
    const report = (err) => console.error((err && err.stack) || String(err));
    process.on("uncaughtException", report);
    process.on("unhandledRejection", report);

    let sdk;
    try {
        const policyDir = path.dirname(require.resolve("@pulumi/policy/package.json", { paths: [packDir] }));
        sdk = require.resolve("@pulumi/pulumi", { paths: [policyDir] });
    } catch {
        // Not resolvable from the pack: then its own require says so.
    }
    try {
        if (sdk) lazyModule(sdk);
        require(packDir);
    } catch (err) {
        report(err);
        process.exit(1);
    }
}

main(process.argv.slice(2));
