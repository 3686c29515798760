// TCP/Unix-socket relay between a confined service's network namespace and the test's loopback.
// Run as `node relay.js '<json>'`, where the JSON is a list of {listen, connect}, each either
// {host, port} or {path}. Prints "ready" once every listener is up; stopped by its pid.
// Plain JavaScript so that it starts in milliseconds without the TypeScript loader.
"use strict";
const fs = require("fs");
const net = require("net");

const routes = JSON.parse(process.argv[2]);
let pending = routes.length;

function relay(client, target) {
    const upstream = net.connect({ ...target, allowHalfOpen: true });
    const close = () => {
        client.destroy();
        upstream.destroy();
    };
    client.on("error", close);
    upstream.on("error", close);
    client.pipe(upstream);
    upstream.pipe(client);
}

for (const { listen, connect } of routes) {
    if (listen.path !== undefined) fs.rmSync(listen.path, { force: true });
    const server = net.createServer({ allowHalfOpen: true }, (client) => relay(client, connect));
    server.on("error", (e) => {
        process.stderr.write(`relay: cannot listen on ${JSON.stringify(listen)}: ${e.message}\n`);
        process.exit(1);
    });
    server.listen(listen, () => {
        pending -= 1;
        if (pending === 0) process.stdout.write("ready\n");
    });
}
if (pending === 0) process.stdout.write("ready\n");
