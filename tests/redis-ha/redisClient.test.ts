import { strict as assert } from "assert";
import { parseInfo, replyFields } from "../../harness/loopback/redisClient";

describe("Redis replies the loopback harness reads", () => {
    it("reads INFO fields, skipping section headers and keeping colons in values", () => {
        const info = parseInfo("# Replication\r\nrole:slave\r\nmaster_host:127.0.0.1\r\nmaster_link_status:up\r\nx:a:b\r\n");
        assert.deepEqual(info, { role: "slave", master_host: "127.0.0.1", master_link_status: "up", x: "a:b" });
        assert.deepEqual(parseInfo(undefined), {});
    });

    it("reads a flat field/value reply such as SENTINEL MASTER, ignoring a dangling field", () => {
        assert.deepEqual(replyFields(["flags", "master", "num-slaves", 2, "dangling"]), { flags: "master", "num-slaves": "2" });
    });
});
