// The spawn server of testing/spawn-proxy.ts: a small Node process that runs `spawnSync` for a large one.
//
//   node spawn-server.cjs <requests fifo> <replies fifo> <ready file>
//
// Each request and reply is one frame of JSON (spawn-frames.cjs). A request is
// { file, args, options } with `input` as base64; the reply is what spawnSync returned, outputs as base64 and
// the error (if any) as its fields. Exits when the requests FIFO reaches its end (the large process went away).
"use strict";
const { openSync, writeFileSync } = require("node:fs");
const { spawnSync } = require("node:child_process");
const { readFrame, writeFrame } = require("./spawn-frames.cjs");

const [requests, replies, ready] = process.argv.slice(2);
// Said before opening the FIFOs: the large process opens its ends (which waits for this one's) only then.
writeFileSync(ready, "");
const inFd = openSync(requests, "r");
const outFd = openSync(replies, "w");

for (;;) {
  const body = readFrame(inFd);
  if (!body) process.exit(0);
  const { file, args, options } = JSON.parse(body.toString("utf8"));
  if (options.input !== undefined) options.input = Buffer.from(options.input, "base64");
  const r = spawnSync(file, args, { ...options, encoding: "buffer" });
  const e = r.error;
  writeFrame(
    outFd,
    Buffer.from(
      JSON.stringify({
        pid: r.pid,
        status: r.status,
        signal: r.signal,
        // A process that never started has no outputs at all (output null, stdout and stderr undefined).
        output: r.output ? [r.stdout.toString("base64"), r.stderr.toString("base64")] : null,
        error: e
          ? {
              message: e.message,
              code: e.code,
              errno: e.errno,
              syscall: e.syscall,
              path: e.path,
              spawnargs: e.spawnargs,
            }
          : undefined,
      }),
      "utf8",
    ),
  );
}
