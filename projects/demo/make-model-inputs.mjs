#!/usr/bin/env node
// Writes the fixed (non-parameter) input files of the demo model into projects/demo/model/:
// grid, IBOUND, zone array, constant heads, recharge, wells, river, observation wells, solver.
// The committed files are the source of truth; this script documents how they were built and
// rebuilds them byte for byte:  node projects/demo/make-model-inputs.mjs [--out DIR] [--nrow 60 --ncol 60]
// (the templates hk_zones.tpl / rch.tpl and the instruction files are hand-written.)

import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const { values: opts } = parseArgs({
  options: {
    nrow: { type: "string", default: "60" },
    ncol: { type: "string", default: "60" },
    out: { type: "string", default: join(dirname(fileURLToPath(import.meta.url)), "model") },
  },
});
const NROW = Number(opts.nrow);
const NCOL = Number(opts.ncol);
const DX = 6000 / NCOL; // 6 km x 6 km domain
const DY = 6000 / NROW;
const modelDir = opts.out;
mkdirSync(modelDir, { recursive: true });
const write = (name, text) => writeFileSync(join(modelDir, name), text);

// Geometry in model coordinates (x east from the west edge, y south from the north edge, metres).
const xOf = (c) => (c - 0.5) * DX;
const yOf = (r) => (r - 0.5) * DY;
const rowAt = (y) => Math.min(NROW, Math.max(1, Math.floor(y / DY) + 1));
const colAt = (x) => Math.min(NCOL, Math.max(1, Math.floor(x / DX) + 1));

/** Bedrock outcrop in the north-east corner: inactive. */
function inactive(r, c) {
  const x = xOf(c);
  const y = yOf(r);
  return y + (6000 - x) < 900;
}

/** Geological zones: 1 gravel (river alluvium), 2 sand (fan), 3 silty sand, 4 clay lens, 5 weathered bedrock. */
function zoneOf(r, c) {
  const x = xOf(c);
  const y = yOf(r);
  const clay = ((x - 3000) / 1100) ** 2 + ((y - 1800) / 700) ** 2 < 1;
  if (clay) return 4;
  if (x < 1200 + 250 * Math.sin(y / 800)) return 1;
  if (x > 5300 - 300 * Math.sin(y / 1000 + 1)) return 5;
  if (x > 3900 + 350 * Math.sin(y / 700 + 2)) return 3;
  return 2;
}

function intArray(f) {
  const lines = [];
  for (let r = 1; r <= NROW; r++) {
    const row = [];
    for (let c = 1; c <= NCOL; c++) row.push(String(f(r, c)).padStart(2));
    lines.push(row.join(""));
  }
  return lines.join("\n");
}

write(
  "demo.nam",
  `# gwflow name file (MODFLOW style): FTYPE  FILENAME
LIST    demo.lst        # listing file (output)
DIS     demo.dis        # grid
BAS     demo.bas        # IBOUND, HNOFLO, starting heads
CHD     demo.chd        # constant heads: the river along the west edge
ZON     hk_zones.zon    # hydraulic-conductivity zone of every cell
HKZ     hk_zones.dat    # K per zone [m/d]   <- generated from hk_zones.tpl
RCH     demo.rch        # base recharge [m/d]
RMLT    rch.dat         # recharge multiplier <- generated from rch.tpl
WEL     demo.wel        # pumping wells [m3/d]
RIV     demo.riv        # creek (head-dependent river leakage)
SOLV    demo.pcg        # PCG solver settings
HOB     demo.hob        # observation wells
HDS     demo.hds.txt    # head array (output)
HOBOUT  heads.out       # simulated heads at observation wells (output)
`,
);

write(
  "demo.dis",
  `# NROW NCOL
${NROW} ${NCOL}
# DELR: column widths [m]
CONSTANT ${DX.toFixed(1)}
# DELC: row heights [m]
CONSTANT ${DY.toFixed(1)}
# TOP and BOT of the confined aquifer [m above datum]; thickness 30 m
CONSTANT 60.0
CONSTANT 30.0
`,
);

write(
  "demo.bas",
  `# IBOUND: 1 active, 0 inactive (bedrock outcrop, north-east corner), <0 constant head
INTERNAL
${intArray((r, c) => (inactive(r, c) ? 0 : 1))}
# HNOFLO: head printed for inactive cells
-999.99
# STRT: starting heads [m] (initial guess of the solver; the model is steady state)
CONSTANT 100.0
`,
);

// River along the west edge (column 1), flowing south: stage 101.0 m at the north end to 99.0 m at the south.
{
  const lines = ["# constant heads: ROW COL HEAD[m] -- the main river along the west edge, flowing south"];
  for (let r = 1; r <= NROW; r++) {
    const h = 101 - (2 * (r - 1)) / (NROW - 1);
    lines.push(`${String(r).padStart(3)} ${String(1).padStart(3)} ${h.toFixed(4)}`);
  }
  write("demo.chd", `${lines.join("\n")}\n`);
}

write(
  "hk_zones.zon",
  `# zone of every cell (1 gravel, 2 sand, 3 silty sand, 4 clay lens, 5 weathered bedrock)\nINTERNAL\n${intArray(zoneOf)}\n`,
);

write(
  "demo.rch",
  "# base recharge rate [m/d] (about 91 mm/yr); multiplied by RCH_MULT from rch.dat\nCONSTANT 2.5E-04\n",
);

// Pumping wells (negative = extraction).
const wells = [
  ["pw1", 3000, 2900, -1500],
  ["pw2", 4600, 3700, -900],
  ["pw3", 1300, 4500, -600],
];
write(
  "demo.wel",
  `# NAME ROW COL Q[m3/d] (negative = extraction)\n${wells
    .map(
      ([name, y, x, q]) =>
        `${name}  ${String(rowAt(y)).padStart(3)} ${String(colAt(x)).padStart(3)}  ${q.toFixed(1)}`,
    )
    .join("\n")}\n`,
);

// Creek: enters at the east edge and runs west along y = 4000 m to x = 2200 m; stage falls from 111 to 104 m.
{
  const lines = [
    "# ROW COL STAGE[m] COND[m2/d] -- creek running west, riverbed conductance 150 m2/d per cell",
  ];
  const r = rowAt(4000);
  const c0 = colAt(2200);
  for (let c = NCOL; c >= c0; c--) {
    const f = (xOf(c) - xOf(c0)) / (xOf(NCOL) - xOf(c0));
    const stage = 104 + 7 * f;
    const cond = 150 * (DX / 100);
    lines.push(`${String(r).padStart(3)} ${String(c).padStart(3)} ${stage.toFixed(4)} ${cond.toFixed(2)}`);
  }
  write("demo.riv", `${lines.join("\n")}\n`);
}

// Observation wells.
const obs = [
  ["ow1", 700, 900],
  ["ow2", 1500, 2500],
  ["ow3", 2300, 4100],
  ["ow4", 2900, 5300],
  ["ow5", 3300, 700],
  ["ow6", 3600, 3100],
  ["ow7", 4500, 1900],
  ["ow8", 5100, 4700],
  ["ow9", 5500, 1100],
  ["ow10", 5300, 3100],
];
write(
  "demo.hob",
  `# NAME ROW COL (head at the cell centre)\n${obs
    .map(
      ([name, y, x]) => `${name.padEnd(5)} ${String(rowAt(y)).padStart(3)} ${String(colAt(x)).padStart(3)}`,
    )
    .join("\n")}\n`,
);

write(
  "demo.pcg",
  "# MXITER  HCLOSE[m]  RCLOSE[m3/d]  RELAX (0 = IC(0), 1 = MIC(0))\n500  1.0E-06  1.0E-03  0.97\n",
);
