/**
 * A module loaded on its first use instead of when it is required: for dependencies that load
 * large modules a run never uses (see packLauncher.js and main.ts). Plain JavaScript so that it can
 * run before anything is transpiled.
 */
"use strict";
const Module = require("module");
const path = require("path");

/**
 * Puts a stand-in for the module `file` into the require cache: its exports forward every access
 * to the real module, which is loaded (and replaces the stand-in in the cache) on the first one.
 */
function lazyModule(file) {
    let real;
    const load = () => {
        if (real === undefined) {
            delete require.cache[file];
            real = require(file);
        }
        return real;
    };
    const stub = new Module(file, null);
    stub.filename = file;
    stub.paths = Module._nodeModulePaths(path.dirname(file));
    stub.loaded = true;
    stub.exports = new Proxy(
        {},
        {
            get: (_, key) => load()[key],
            has: (_, key) => key in load(),
            ownKeys: () => Reflect.ownKeys(load()),
            getOwnPropertyDescriptor: (_, key) => {
                const d = Reflect.getOwnPropertyDescriptor(load(), key);
                // A proxy may not report a non-configurable property its target lacks.
                return d && { ...d, configurable: true };
            },
        },
    );
    require.cache[file] = stub;
    return () => real !== undefined;
}

module.exports = { lazyModule };
