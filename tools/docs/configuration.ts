/**
 * `npm run docs:config`: renders README.md's configuration table from the settings schema
 * (components/settings/schema.ts). Only the lines between the table's markers change; a test fails
 * when the README drifts from the schema.
 */
import * as fs from "fs";
import * as path from "path";
import { withConfigurationTable } from "../../components/settings/docs";
import { REPO_ROOT } from "../../cli/repoRoot";

const README = path.join(REPO_ROOT, "README.md");

try {
    const before = fs.readFileSync(README, "utf8");
    const after = withConfigurationTable(before);
    if (after === before) {
        process.stdout.write("README.md's configuration table is up to date\n");
    } else {
        fs.writeFileSync(README, after);
        process.stdout.write("rewrote README.md's configuration table\n");
    }
} catch (e) {
    // A README without the table's marker lines is left untouched.
    process.stderr.write(`docs:config: ${(e as Error).message}\n`);
    process.exitCode = 2;
}
