// PANTHER framing as PEST++ 5.2.23 writes it (test/fixtures/real/pestpp-panther/PROTOCOL.md): a 5-byte security
// code, then int64 buf_sz (= 1029 + data), uint32 type, int64 group, int64 run_id, char[1001] desc, data.
// Host byte order: little-endian here, as on every machine PEST++ runs on.

export const SECURITY = Buffer.from([1, 3, 5, 7, 9]);
export const HEADER = 1029;
export const DESC = 1001;
export const Pack = {
  UNKN: 0,
  OK: 1,
  CONFIRM_OK: 2,
  READY: 3,
  REQ_RUNDIR: 4,
  RUNDIR: 5,
  REQ_LINPACK: 6,
  LINPACK: 7,
  PAR_NAMES: 8,
  OBS_NAMES: 9,
  START_RUN: 10,
  RUN_FINISHED: 11,
  RUN_FAILED: 12,
  RUN_KILLED: 13,
  TERMINATE: 14,
  PING: 15,
  REQ_KILL: 16,
};

/** One frame, ready to write. */
export function encode(type, { group = 0n, runId = 0n, desc = "", data = Buffer.alloc(0) } = {}) {
  const head = Buffer.alloc(5 + HEADER);
  SECURITY.copy(head, 0);
  head.writeBigInt64LE(BigInt(HEADER + data.length), 5);
  head.writeUInt32LE(type, 13);
  head.writeBigInt64LE(BigInt(group), 17);
  head.writeBigInt64LE(BigInt(runId), 25);
  head.write(desc.slice(0, DESC - 1), 33, "latin1");
  return Buffer.concat([head, data]);
}

/** Splits a byte stream into frames; throws on a bad security code (PEST++ calls that a corrupt message). */
export class FrameReader {
  buf = Buffer.alloc(0);
  push(chunk) {
    this.buf = Buffer.concat([this.buf, chunk]);
    const frames = [];
    while (this.buf.length >= 5 + 8) {
      if (!this.buf.subarray(0, 5).equals(SECURITY)) throw new Error("corrupt message: bad security code");
      const size = Number(this.buf.readBigInt64LE(5));
      if (this.buf.length < 5 + size) break;
      const f = this.buf.subarray(5, 5 + size);
      const desc = f.subarray(28, 28 + DESC);
      const nul = desc.indexOf(0);
      frames.push({
        type: f.readUInt32LE(8),
        group: f.readBigInt64LE(12),
        runId: f.readBigInt64LE(20),
        desc: desc.subarray(0, nul === -1 ? DESC : nul).toString("latin1"),
        data: Buffer.from(f.subarray(HEADER)),
      });
      this.buf = this.buf.subarray(5 + size);
    }
    return frames;
  }
}
