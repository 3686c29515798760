/**
 * The README's configuration table is rendered from the settings schema: a setting added,
 * removed or changed there shows in the table, or this test fails.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import {
    TABLE_END,
    TABLE_START,
    configurationRows,
    configurationTable,
    tableOf,
    withConfigurationTable,
} from "../../components/settings/docs";
import { TOP_LEVEL_KEYS } from "../../components/settings/schema";

const README = fs.readFileSync(path.resolve(__dirname, "..", "..", "README.md"), "utf8");

describe("README configuration table", () => {
    it("is the table the schema renders", () => {
        const table = tableOf(README);
        assert.notEqual(table, undefined, `README.md lacks the lines ${TABLE_START} and ${TABLE_END}`);
        assert.equal(
            table,
            configurationTable(),
            "README.md's configuration table differs from components/settings/schema.ts: run npm run docs:config",
        );
    });

    it("has a row for every key, nested settings one row each, objects such as resources in one", () => {
        const keys = configurationRows().flatMap((r) => r.keys);
        for (const key of TOP_LEVEL_KEYS)
            assert.ok(
                keys.some((k) => k === key || k.startsWith(`${key}.`)),
                key,
            );
        for (const key of ["registry.autoscaling", "redis.sentinel.resources", "redis.haproxy.replicas", "redis.address"])
            assert.ok(keys.includes(key), key);
        assert.ok(!keys.some((k) => k.startsWith("redis.resources.")), "resources is one row");
    });

    it("rows of the two services share a line; differing defaults are listed side by side", () => {
        const rows = configurationTable().split("\n");
        assert.ok(
            rows.includes(
                "| `controller.port` / `registry.port` | `6080` / `5080` | 1–65535 | Port of the Service (the containers listen on 8080) |",
            ),
        );
        assert.ok(rows.some((r) => r.startsWith("| `controller.replicas` / `registry.replicas` | `3` |")));
        assert.ok(rows.some((r) => r.startsWith("| `redisPassword` (secret) | generated (32 letters and digits) |")));
    });

    it("rewriting touches only the table", () => {
        const stale = `intro\n${TABLE_START}\n| old |\n${TABLE_END}\nrest\n`;
        assert.equal(withConfigurationTable(stale), `intro\n${TABLE_START}\n${configurationTable()}\n${TABLE_END}\nrest\n`);
        assert.equal(
            withConfigurationTable(withConfigurationTable(stale)),
            withConfigurationTable(stale),
            "a second rewrite changes nothing",
        );
        assert.throws(() => withConfigurationTable("no table here"), /no .* lines around the configuration table/);
    });
});
