/**
 * `node -r ./cli/check/transpileCache.js file.ts`: the project's one TypeScript loader, for the
 * npm scripts, mocha (.mocharc.json) and the processes tools start (ts-node stays a dependency
 * only for the Pulumi CLI, which runs index.ts with it). It loads TypeScript files the
 * way `ts-node --transpile-only` does (typescript's transpileModule with the root tsconfig's
 * compilerOptions, an inline source map so that stack traces name .ts lines), but keeps each
 * output under node_modules/.cache, keyed by a hash of the source,
 * the options and the TypeScript version. A run whose files are all cached never loads the
 * compiler, which is most of what `npm run check` would otherwise spend. Each entry's name starts
 * with a hash of its file's path, and a new entry replaces the file's older ones, so the cache holds
 * one entry per file however often the code changes. Plain JavaScript because it must run before
 * anything can load TypeScript.
 */
"use strict";
const crypto = require("crypto");
const fs = require("fs");
const path = require("path");

const root = path.resolve(__dirname, "..", "..");
const cacheDir = path.join(root, "node_modules", ".cache", "a8-transpile");
const tsconfigText = fs.readFileSync(path.join(root, "tsconfig.json"), "utf8");
const tsVersion = JSON.parse(fs.readFileSync(require.resolve("typescript/package.json"), "utf8")).version;
/** Part of every cache key: a change of what this file asks of the compiler invalidates the cache. */
const LOADER_OPTIONS = { sourceMap: false, inlineSourceMap: true, inlineSources: false, declaration: false };
const optionsKey = crypto
    .createHash("sha256")
    .update(tsVersion)
    .update("\0")
    .update(tsconfigText)
    .update("\0")
    .update(JSON.stringify(LOADER_OPTIONS))
    .digest("hex");

let ts;
let compilerOptions;

function transpile(source, filename) {
    if (!ts) {
        ts = require("typescript");
        compilerOptions = { ...JSON.parse(tsconfigText).compilerOptions, noEmit: false, ...LOADER_OPTIONS };
    }
    const out = ts.transpileModule(source, { compilerOptions, fileName: filename, reportDiagnostics: false });
    return out.outputText;
}

const ENTRY = /^[0-9a-f]{16}-[0-9a-f]{64}\.js$/;

/** A write in progress is this young at most; an older temporary file was left by a killed run. */
const TMP_MAX_AGE_MS = 60_000;

/** Removes the file's other entries (older sources or options) and anything not named as an entry. */
function pruneStale(fileKey, entry) {
    for (const name of fs.readdirSync(cacheDir)) {
        const file = path.join(cacheDir, name);
        const stale = name.endsWith(".tmp")
            ? Date.now() - fs.statSync(file, { throwIfNoEntry: false })?.mtimeMs > TMP_MAX_AGE_MS
            : name !== entry && (name.startsWith(`${fileKey}-`) || !ENTRY.test(name));
        if (stale) fs.rmSync(file, { force: true });
    }
}

function load(module, filename) {
    const source = fs.readFileSync(filename, "utf8");
    const fileKey = crypto.createHash("sha256").update(path.relative(root, filename)).digest("hex").slice(0, 16);
    const key = crypto.createHash("sha256").update(optionsKey).update("\0").update(source).digest("hex");
    const entry = `${fileKey}-${key}.js`;
    const cached = path.join(cacheDir, entry);
    let code;
    try {
        code = fs.readFileSync(cached, "utf8");
    } catch {
        code = transpile(source, filename);
        try {
            fs.mkdirSync(cacheDir, { recursive: true });
            // Write, then rename: concurrent runs never read half a file.
            const tmp = `${cached}.${process.pid}.tmp`;
            fs.writeFileSync(tmp, code);
            fs.renameSync(tmp, cached);
            pruneStale(fileKey, entry);
        } catch {
            // A read-only tree still runs, just without the cache.
        }
    }
    module._compile(code, filename);
}

process.setSourceMapsEnabled(true);
require.extensions[".ts"] = load;
