// Bench: heads at 100 points at every time of a ~1 GB structured head file (3 layers of 500 x 500, single
// precision, 333 times), read with lib/modflow through readOutputObservations, against a plain sequential read of
// the same file in 8 MB chunks. Each run is a child process so its peak RSS is its own. Medians of 3 runs.
// The same module is the child when MFPAR_BENCH_MODFLOW is set (`extract` or `plain`).
import { spawnSync } from "node:child_process";
import { createWriteStream } from "node:fs";
import { open, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { median } from "./_stats.js";

const NCOL = 500;
const NROW = 500;
const NLAY = 3;
const NTIMES = 333;
const NPOINTS = 100;
const CELLS = NCOL * NROW;

// The value written at (time, layer, cell); exact in single precision, so the check can be exact.
const valueAt = (t: number, layer: number, cell: number) =>
  Math.fround(t * 10 + layer + (cell % 4096) / 4096);

function points(): { name: string; node: number }[] {
  let seed = 12345;
  const rnd = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  return Array.from({ length: NPOINTS }, (_, i) => ({
    name: `p${i + 1}`,
    node: 1 + Math.floor(rnd() * CELLS * NLAY),
  }));
}

async function generate(file: string): Promise<void> {
  const out = createWriteStream(file);
  const header = Buffer.alloc(44);
  const values = Buffer.alloc(CELLS * 4);
  const write = (b: Buffer) =>
    new Promise<void>((resolve, reject) => {
      out.write(b, (e) => (e ? reject(e) : undefined));
      if (out.writableNeedDrain) out.once("drain", resolve);
      else resolve();
    });
  for (let t = 1; t <= NTIMES; t++) {
    for (let layer = 1; layer <= NLAY; layer++) {
      header.writeInt32LE(t, 0);
      header.writeInt32LE(1, 4);
      header.writeFloatLE(t, 8);
      header.writeFloatLE(t, 12);
      header.write("            HEAD", 16, "latin1");
      header.writeInt32LE(NCOL, 32);
      header.writeInt32LE(NROW, 36);
      header.writeInt32LE(layer, 40);
      const f = new Float32Array(values.buffer, values.byteOffset, CELLS);
      for (let c = 0; c < CELLS; c++) f[c] = valueAt(t, layer, c);
      await write(Buffer.from(header));
      await write(Buffer.from(values));
    }
  }
  await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())));
}

async function child(mode: string, file: string): Promise<void> {
  const { readOutputObservations } = await import("../../lib/modflow/observations.js");
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  let check: number;
  let ms: number;
  let cpu: NodeJS.CpuUsage;
  if (mode === "extract") {
    const pts = points();
    const obs = await readOutputObservations([{ type: "heads", file, points: pts, times: "all" }], tmpdir());
    ms = performance.now() - t0;
    cpu = process.cpuUsage(c0);
    check = obs.size;
    // every value checked against what was written
    for (const [pi, p] of pts.entries()) {
      const layer = Math.floor((p.node - 1) / CELLS) + 1;
      const cell = (p.node - 1) % CELLS;
      for (let t = 1; t <= NTIMES; t++) {
        const got = obs.get(`p${pi + 1}_t${String(t).padStart(4, "0")}`);
        if (got !== valueAt(t, layer, cell))
          throw new Error(`wrong value for p${pi + 1} at time ${t}: ${got}`);
      }
    }
  } else {
    const fh = await open(file, "r");
    const buf = Buffer.allocUnsafe(8 * 2 ** 20);
    let pos = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
      if (bytesRead === 0) break;
      pos += bytesRead;
    }
    await fh.close();
    ms = performance.now() - t0;
    cpu = process.cpuUsage(c0);
    check = pos;
  }
  // maxRSS is in kilobytes
  process.stdout.write(
    `${JSON.stringify({ ms, cpuMs: (cpu.user + cpu.system) / 1000, maxRssMB: process.resourceUsage().maxRSS / 1024, check })}\n`,
  );
}

function runChild(
  mode: string,
  file: string,
): { ms: number; cpuMs: number; maxRssMB: number; check: number } {
  const self = fileURLToPath(import.meta.url);
  const r = spawnSync(process.execPath, ["--import", "tsx", self], {
    env: { ...process.env, MFPAR_BENCH_MODFLOW: mode, MFPAR_BENCH_MODFLOW_FILE: file },
    encoding: "utf8",
    maxBuffer: 16 * 2 ** 20,
  });
  if (r.status !== 0) throw new Error(`bench child (${mode}) failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").at(-1)!);
}

export default async function bench(): Promise<Record<string, unknown>> {
  const file = path.join(tmpdir(), `mfpar-bench-${process.pid}.hds`);
  try {
    const g0 = performance.now();
    await generate(file);
    const generateSeconds = (performance.now() - g0) / 1000;
    const { size } = await stat(file);
    const extract: ReturnType<typeof runChild>[] = [];
    const plain: ReturnType<typeof runChild>[] = [];
    for (let i = 0; i < 3; i++) {
      // alternate, so neither side always runs with the warmer page cache
      if (i % 2 === 0) {
        extract.push(runChild("extract", file));
        plain.push(runChild("plain", file));
      } else {
        plain.push(runChild("plain", file));
        extract.push(runChild("extract", file));
      }
    }
    const mb = size / 2 ** 20;
    const extractMs = median(extract.map((r) => r.ms));
    const plainMs = median(plain.map((r) => r.ms));
    return {
      fileMB: Math.round(mb),
      layout: `${NLAY} layers x ${NROW} x ${NCOL}, single precision, ${NTIMES} times, ${NLAY * NTIMES} records`,
      points: NPOINTS,
      observations: extract[0]!.check,
      generateSeconds: Number(generateSeconds.toFixed(1)),
      extract: {
        medianMs: Math.round(extractMs),
        MBps: Math.round(mb / (extractMs / 1000)),
        medianCpuMs: Math.round(median(extract.map((r) => r.cpuMs))),
        peakRssMB: Math.round(Math.max(...extract.map((r) => r.maxRssMB))),
        runsMs: extract.map((r) => Math.round(r.ms)),
      },
      plainRead: {
        medianMs: Math.round(plainMs),
        MBps: Math.round(mb / (plainMs / 1000)),
        medianCpuMs: Math.round(median(plain.map((r) => r.cpuMs))),
        peakRssMB: Math.round(Math.max(...plain.map((r) => r.maxRssMB))),
        runsMs: plain.map((r) => Math.round(r.ms)),
      },
      // < 1 means the extraction is faster than reading the whole file; target: at most 2
      ratioExtractOverPlain: Number((extractMs / plainMs).toFixed(3)),
      // the same on CPU time (user + system), steadier than wall time when the machine is shared
      cpuRatioExtractOverPlain: Number(
        (median(extract.map((r) => r.cpuMs)) / median(plain.map((r) => r.cpuMs))).toFixed(3),
      ),
      targets: { ratioAtMost: 2, peakRssMBBelow: 200 },
    };
  } finally {
    await rm(file, { force: true });
  }
}

const mode = process.env.MFPAR_BENCH_MODFLOW;
if (mode) await child(mode, process.env.MFPAR_BENCH_MODFLOW_FILE!);
