// The spawn proxy's frames (testing/spawn-proxy.ts ↔ spawn-server.cjs), over blocking file descriptors (FIFOs):
// a 4-byte little-endian length, then that many bytes. Plain CommonJS: the server runs under `node` alone.
"use strict";
const { readSync, writeSync } = require("node:fs");

function readExactly(fd, n) {
  const buf = Buffer.allocUnsafe(n);
  for (let off = 0; off < n; ) {
    const got = readSync(fd, buf, off, n - off, null);
    if (got === 0) return undefined;
    off += got;
  }
  return buf;
}

/** The next frame's bytes, or undefined when the other side closed its end. */
function readFrame(fd) {
  const head = readExactly(fd, 4);
  return head && readExactly(fd, head.readUInt32LE(0));
}

/** Writes `body` as one frame. */
function writeFrame(fd, body) {
  const head = Buffer.allocUnsafe(4);
  head.writeUInt32LE(body.length, 0);
  const msg = Buffer.concat([head, body]);
  for (let off = 0; off < msg.length; ) off += writeSync(fd, msg, off, msg.length - off);
}

module.exports = { readFrame, writeFrame };
