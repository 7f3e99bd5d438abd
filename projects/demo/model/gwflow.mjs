#!/usr/bin/env node
// gwflow — 2-D steady-state confined groundwater flow, block-centred finite differences.
//
//   usage: node gwflow.mjs <name file>        (run from the model directory)
//
// One layer, nrow x ncol cells. For every active, variable-head cell (i,j):
//
//   sum_neighbours C_ij,mn (h_mn - h_ij) + R_ij A_ij + Q_ij + Criv_ij (s_ij - h_ij) = 0
//
// with harmonic-mean interblock conductance (MODFLOW's BCF/LPF for confined layers)
//
//   CR_i,j+1/2 = 2 DELC_i T_ij T_i,j+1 / (T_ij DELR_j+1 + T_i,j+1 DELR_j),   T = K (TOP - BOT)
//
// Constant-head cells (CHD list or IBOUND < 0) are known values moved to the right-hand side;
// inactive cells (IBOUND = 0) are no-flow. The symmetric positive-definite system is solved by
// preconditioned conjugate gradients with a modified incomplete Cholesky MIC(0) preconditioner.
//
// Exit status (like MODFLOW-USG): 0 when the simulation ran, *even if the solver failed to converge*
// (the listing and stdout then say "FAILED TO CONVERGE" and there is no "Normal termination");
// 1 for invalid input (missing file, bad number, non-positive K, ...); 2 for a usage error.
// No dependencies; deterministic (the listing file contains no dates or timings).

import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

const VERSION = "1.0.0";

class InputError extends Error {}

// ---------------------------------------------------------------- input reading

/** Free-format token reader: '#' starts a comment; tokens remember their line for error messages. */
class Reader {
  constructor(path, label) {
    if (!existsSync(path)) throw new InputError(`cannot open ${label} file '${path}': file not found`);
    this.path = path;
    this.tokens = [];
    const lines = readFileSync(path, "utf8").split(/\r?\n/);
    lines.forEach((raw, idx) => {
      const text = raw.split("#")[0];
      for (const tok of text.trim().split(/[\s,]+/)) if (tok !== "") this.tokens.push({ tok, line: idx + 1 });
    });
    this.pos = 0;
  }
  atEnd() {
    return this.pos >= this.tokens.length;
  }
  where() {
    const t = this.tokens[Math.min(this.pos, this.tokens.length - 1)];
    return t ? `${this.path}:${t.line}` : this.path;
  }
  next(what) {
    if (this.atEnd()) throw new InputError(`${this.path}: unexpected end of file, expected ${what}`);
    return this.tokens[this.pos++];
  }
  num(what) {
    const t = this.next(what);
    const v = parseNumber(t.tok);
    if (v === undefined)
      throw new InputError(`${this.path}:${t.line}: expected ${what} (a number), got '${t.tok}'`);
    return v;
  }
  int(what) {
    const t = this.next(what);
    if (!/^[+-]?\d+$/.test(t.tok)) {
      throw new InputError(`${this.path}:${t.line}: expected ${what} (an integer), got '${t.tok}'`);
    }
    return Number.parseInt(t.tok, 10);
  }
  /** MODFLOW-style array control: `CONSTANT v` or `INTERNAL` followed by n values (row by row). */
  array(n, what, integer = false) {
    const t = this.next(`${what}: CONSTANT or INTERNAL`);
    const kw = t.tok.toUpperCase();
    const out = new Float64Array(n);
    if (kw === "CONSTANT") {
      out.fill(integer ? this.int(what) : this.num(what));
    } else if (kw === "INTERNAL") {
      for (let k = 0; k < n; k++) out[k] = integer ? this.int(what) : this.num(what);
    } else {
      throw new InputError(
        `${this.path}:${t.line}: expected CONSTANT or INTERNAL for ${what}, got '${t.tok}'`,
      );
    }
    return out;
  }
}

/** Fortran-friendly number parsing: accepts 1.0E-04, 1.0D-04, 1.0d-4, .5, 5. */
function parseNumber(s) {
  const t = s.replace(/[dD]/, "E");
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t)) return undefined;
  const v = Number(t);
  return Number.isFinite(v) ? v : undefined;
}

// ---------------------------------------------------------------- formatting

/** Fortran-style E format: fmtE(101.5, 5) -> "1.01500E+02". */
function fmtE(x, digits) {
  const [m, e] = x.toExponential(digits).split("e");
  const ev = Number(e);
  return `${m}E${ev < 0 ? "-" : "+"}${String(Math.abs(ev)).padStart(2, "0")}`;
}
const rj = (s, w) => String(s).padStart(w);
const lj = (s, w) => String(s).padEnd(w);
/** MODFLOW budget number: F18.4 unless too large or too small to be readable, then E18.4. */
function budgetNum(x) {
  const a = Math.abs(x);
  const s = a !== 0 && (a >= 1e10 || a < 1e-4) ? fmtE(x, 4) : x.toFixed(4);
  return rj(s, 18);
}

// ---------------------------------------------------------------- model input

function readNameFile(namPath) {
  if (!existsSync(namPath)) throw new InputError(`cannot open name file '${namPath}': file not found`);
  const dir = dirname(namPath);
  const files = {};
  readFileSync(namPath, "utf8")
    .split(/\r?\n/)
    .forEach((raw, idx) => {
      const text = raw.split("#")[0].trim();
      if (text === "") return;
      const [ftype, fname] = text.split(/\s+/);
      if (!fname) throw new InputError(`${namPath}:${idx + 1}: expected 'FTYPE FILENAME', got '${text}'`);
      files[ftype.toUpperCase()] = { name: fname, path: join(dir, fname), line: idx + 1 };
    });
  for (const req of ["LIST", "DIS", "BAS", "ZON", "HKZ", "SOLV"]) {
    if (!files[req]) throw new InputError(`${namPath}: missing required file type ${req}`);
  }
  return files;
}

function readModel(files, echo) {
  const m = {};

  // DIS: NROW NCOL, DELR(ncol), DELC(nrow), TOP(nrow*ncol), BOT(nrow*ncol)
  const dis = new Reader(files.DIS.path, "DIS");
  m.nrow = dis.int("NROW");
  m.ncol = dis.int("NCOL");
  if (m.nrow < 1 || m.ncol < 1) throw new InputError(`${dis.path}: NROW and NCOL must be positive`);
  const n = m.nrow * m.ncol;
  m.n = n;
  m.delr = dis.array(m.ncol, "DELR");
  m.delc = dis.array(m.nrow, "DELC");
  m.top = dis.array(n, "TOP");
  m.bot = dis.array(n, "BOT");
  for (const [name, arr] of [
    ["DELR", m.delr],
    ["DELC", m.delc],
  ]) {
    if (arr.some((v) => !(v > 0))) throw new InputError(`${dis.path}: ${name} must be positive`);
  }
  for (let k = 0; k < n; k++) {
    if (!(m.top[k] > m.bot[k])) {
      const [r, c] = rc(m, k);
      throw new InputError(`${dis.path}: TOP must be above BOT (row ${r}, column ${c})`);
    }
  }
  echo.push(` DISCRETIZATION (${files.DIS.name})`);
  echo.push(`   ${m.nrow} ROWS, ${m.ncol} COLUMNS, 1 LAYER (CONFINED), STEADY STATE`);
  echo.push(
    `   DELR ${range(m.delr)}   DELC ${range(m.delc)}   THICKNESS ${range(m.top.map((t, k) => t - m.bot[k]))}`,
  );

  // BAS: IBOUND(n) (0 inactive, 1 active, <0 constant head at STRT), HNOFLO, STRT(n)
  const bas = new Reader(files.BAS.path, "BAS");
  m.ibound = bas.array(n, "IBOUND", true);
  m.hnoflo = bas.num("HNOFLO");
  m.strt = bas.array(n, "STRT");
  m.fixed = new Float64Array(n).fill(Number.NaN); // known head for constant-head cells
  for (let k = 0; k < n; k++) if (m.ibound[k] < 0) m.fixed[k] = m.strt[k];

  // CHD list: row col head
  let nchd = 0;
  if (files.CHD) {
    const chd = new Reader(files.CHD.path, "CHD");
    while (!chd.atEnd()) {
      const where = chd.where();
      const k = cell(m, chd.int("CHD row"), chd.int("CHD column"), where);
      const h = chd.num("CHD head");
      if (m.ibound[k] === 0) throw new InputError(`${where}: constant-head cell is inactive (IBOUND = 0)`);
      m.ibound[k] = -1;
      m.fixed[k] = h;
      nchd++;
    }
  }
  let nact = 0;
  let nfix = 0;
  for (let k = 0; k < n; k++) {
    if (m.ibound[k] > 0) nact++;
    else if (m.ibound[k] < 0) nfix++;
  }
  echo.push(` BASIC (${files.BAS.name})${files.CHD ? ` + CHD (${files.CHD.name}, ${nchd} CELLS)` : ""}`);
  echo.push(`   ${nact} VARIABLE-HEAD CELLS, ${nfix} CONSTANT-HEAD CELLS, ${n - nact - nfix} INACTIVE CELLS`);
  if (nfix > 0) {
    const hs = [];
    for (let k = 0; k < n; k++) if (m.ibound[k] < 0) hs.push(m.fixed[k]);
    echo.push(`   CONSTANT HEADS ${range(hs)}   HNOFLO ${fmtE(m.hnoflo, 4)}`);
  }

  // ZON: zone number per cell; HKZ: zone K pairs (generated from hk_zones.tpl)
  const zon = new Reader(files.ZON.path, "ZON");
  m.zone = zon.array(n, "ZONE", true);
  const hkz = new Reader(files.HKZ.path, "HKZ");
  const kByZone = new Map();
  while (!hkz.atEnd()) {
    const where = hkz.where();
    const z = hkz.int("zone number");
    const kz = hkz.num(`K of zone ${z}`);
    if (kByZone.has(z)) throw new InputError(`${where}: zone ${z} given twice`);
    if (!(kz > 0))
      throw new InputError(`${where}: hydraulic conductivity of zone ${z} must be positive, got ${kz}`);
    kByZone.set(z, kz);
  }
  const cellsByZone = new Map();
  m.hk = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    if (m.ibound[k] === 0) continue;
    const z = m.zone[k];
    const kz = kByZone.get(z);
    if (kz === undefined) {
      const [r, c] = rc(m, k);
      throw new InputError(
        `${files.HKZ.path}: no hydraulic conductivity for zone ${z} (used at row ${r}, column ${c})`,
      );
    }
    m.hk[k] = kz;
    cellsByZone.set(z, (cellsByZone.get(z) ?? 0) + 1);
  }
  echo.push(` HYDRAULIC CONDUCTIVITY BY ZONE (${files.ZON.name}, ${files.HKZ.name})`);
  echo.push("      ZONE     CELLS          HK [L/T]");
  for (const z of [...kByZone.keys()].sort((a, b) => a - b)) {
    echo.push(`   ${rj(z, 7)} ${rj(cellsByZone.get(z) ?? 0, 9)}   ${rj(fmtE(kByZone.get(z), 6), 15)}`);
  }

  // RCH: recharge rate array [L/T]; RMLT: "RCH_MULT value" (generated from rch.tpl)
  m.rch = new Float64Array(n);
  if (files.RCH) {
    const rch = new Reader(files.RCH.path, "RCH");
    m.rch = rch.array(n, "RECHARGE");
    let mult = 1;
    if (files.RMLT) {
      const rm = new Reader(files.RMLT.path, "RMLT");
      const where = rm.where();
      const key = rm.next("RCH_MULT").tok;
      if (key.toUpperCase() !== "RCH_MULT") throw new InputError(`${where}: expected RCH_MULT, got '${key}'`);
      mult = rm.num("recharge multiplier");
      if (!(mult >= 0)) throw new InputError(`${where}: recharge multiplier must be >= 0, got ${mult}`);
    }
    for (let k = 0; k < n; k++) m.rch[k] *= mult;
    echo.push(` RECHARGE (${files.RCH.name}${files.RMLT ? `, multiplier ${files.RMLT.name}` : ""})`);
    echo.push(`   MULTIPLIER ${fmtE(mult, 6)}   RATE ${range(m.rch)} [L/T]`);
  }

  // WEL: name row col Q (Q < 0 = extraction) [L^3/T]
  m.wells = [];
  if (files.WEL) {
    const wel = new Reader(files.WEL.path, "WEL");
    while (!wel.atEnd()) {
      const name = wel.next("well name").tok;
      const where = wel.where();
      const k = cell(m, wel.int("well row"), wel.int("well column"), where);
      const q = wel.num("well rate");
      if (m.ibound[k] <= 0) throw new InputError(`${where}: well ${name} is not in a variable-head cell`);
      m.wells.push({ name, k, q });
    }
    echo.push(` WELLS (${files.WEL.name})`);
    echo.push("   NAME          ROW   COL          Q [L3/T]");
    for (const w of m.wells) {
      const [r, c] = rc(m, w.k);
      echo.push(`   ${lj(w.name, 12)} ${rj(r, 4)} ${rj(c, 5)}   ${rj(fmtE(w.q, 6), 15)}`);
    }
  }

  // RIV: row col stage conductance (head-dependent river leakage, always connected)
  m.rivers = [];
  if (files.RIV) {
    const riv = new Reader(files.RIV.path, "RIV");
    while (!riv.atEnd()) {
      const where = riv.where();
      const k = cell(m, riv.int("river row"), riv.int("river column"), where);
      const stage = riv.num("river stage");
      const cond = riv.num("riverbed conductance");
      if (!(cond >= 0)) throw new InputError(`${where}: riverbed conductance must be >= 0`);
      if (m.ibound[k] <= 0) throw new InputError(`${where}: river cell is not a variable-head cell`);
      m.rivers.push({ k, stage, cond });
    }
    echo.push(` RIVER (${files.RIV.name})`);
    echo.push(
      `   ${m.rivers.length} CELLS   STAGE ${range(m.rivers.map((r) => r.stage))}   CONDUCTANCE ${range(m.rivers.map((r) => r.cond))}`,
    );
  }

  // SOLV: MXITER HCLOSE RCLOSE RELAX
  const sol = new Reader(files.SOLV.path, "SOLV");
  m.mxiter = sol.int("MXITER");
  m.hclose = sol.num("HCLOSE");
  m.rclose = sol.num("RCLOSE");
  m.relax = sol.atEnd() ? 1 : sol.num("RELAX");
  if (m.mxiter < 1) throw new InputError(`${sol.path}: MXITER must be >= 1`);
  if (!(m.hclose > 0) || !(m.rclose > 0))
    throw new InputError(`${sol.path}: HCLOSE and RCLOSE must be positive`);
  if (!(m.relax >= 0 && m.relax <= 1)) throw new InputError(`${sol.path}: RELAX must be between 0 and 1`);
  echo.push(` SOLVER (${files.SOLV.name}): PCG WITH MIC(0) PRECONDITIONER`);
  echo.push(
    `   MXITER = ${m.mxiter}   HCLOSE = ${fmtE(m.hclose, 3)}   RCLOSE = ${fmtE(m.rclose, 3)}   RELAX = ${m.relax.toFixed(3)}`,
  );

  // HOB: observation wells: name row col
  m.obs = [];
  if (files.HOB) {
    const hob = new Reader(files.HOB.path, "HOB");
    while (!hob.atEnd()) {
      const name = hob.next("observation name").tok;
      const where = hob.where();
      const k = cell(m, hob.int("observation row"), hob.int("observation column"), where);
      if (m.ibound[k] === 0) throw new InputError(`${where}: observation ${name} is in an inactive cell`);
      m.obs.push({ name, k });
    }
    echo.push(` HEAD OBSERVATIONS (${files.HOB.name}): ${m.obs.length} WELLS`);
  }
  return m;
}

function rc(m, k) {
  return [Math.floor(k / m.ncol) + 1, (k % m.ncol) + 1];
}
function cell(m, r, c, where) {
  if (r < 1 || r > m.nrow || c < 1 || c > m.ncol) {
    throw new InputError(`${where}: cell (row ${r}, column ${c}) is outside the ${m.nrow} x ${m.ncol} grid`);
  }
  return (r - 1) * m.ncol + (c - 1);
}
function range(values) {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return lo === hi ? fmtE(lo, 4) : `${fmtE(lo, 4)} TO ${fmtE(hi, 4)}`;
}

// ---------------------------------------------------------------- assembly and solution

/** Interblock conductances: cr[k] between k and k+1 (along the row), cc[k] between k and k+ncol. */
function conductances(m) {
  const { nrow, ncol, n } = m;
  const cr = new Float64Array(n);
  const cc = new Float64Array(n);
  const t = new Float64Array(n);
  for (let k = 0; k < n; k++) t[k] = m.ibound[k] === 0 ? 0 : m.hk[k] * (m.top[k] - m.bot[k]);
  for (let i = 0; i < nrow; i++) {
    for (let j = 0; j < ncol; j++) {
      const k = i * ncol + j;
      if (t[k] === 0) continue;
      if (j + 1 < ncol && t[k + 1] > 0) {
        cr[k] = (2 * m.delc[i] * t[k] * t[k + 1]) / (t[k] * m.delr[j + 1] + t[k + 1] * m.delr[j]);
      }
      if (i + 1 < nrow && t[k + ncol] > 0) {
        cc[k] = (2 * m.delr[j] * t[k] * t[k + ncol]) / (t[k] * m.delc[i + 1] + t[k + ncol] * m.delc[i]);
      }
    }
  }
  return { cr, cc };
}

/**
 * Assemble A h = b (A symmetric positive definite) for variable-head cells; constant-head and inactive
 * cells get identity rows. a = diagonal, e = coupling to k+1, s = coupling to k+ncol (negative numbers).
 */
function assemble(m, cr, cc) {
  const { nrow, ncol, n } = m;
  const a = new Float64Array(n);
  const e = new Float64Array(n);
  const s = new Float64Array(n);
  const b = new Float64Array(n);
  const variable = (k) => m.ibound[k] > 0;
  for (let k = 0; k < n; k++) {
    if (!variable(k)) {
      a[k] = 1;
      b[k] = m.ibound[k] < 0 ? m.fixed[k] : m.hnoflo;
      continue;
    }
    const i = Math.floor(k / ncol);
    const j = k % ncol;
    b[k] += m.rch[k] * m.delr[j] * m.delc[i];
    const link = (nb, c) => {
      if (c === 0) return;
      a[k] += c;
      if (m.ibound[nb] < 0) b[k] += c * m.fixed[nb];
    };
    if (j > 0) link(k - 1, cr[k - 1]);
    if (j + 1 < ncol) link(k + 1, cr[k]);
    if (i > 0) link(k - ncol, cc[k - ncol]);
    if (i + 1 < nrow) link(k + ncol, cc[k]);
    if (j + 1 < ncol && variable(k + 1)) e[k] = -cr[k];
    if (i + 1 < nrow && variable(k + ncol)) s[k] = -cc[k];
  }
  for (const w of m.wells) b[w.k] += w.q;
  for (const r of m.rivers) {
    a[r.k] += r.cond;
    b[r.k] += r.cond * r.stage;
  }
  return { a, e, s, b };
}

/** y = A x for the 5-point symmetric matrix. */
function matvec(sys, ncol, x, y) {
  const { a, e, s } = sys;
  const n = a.length;
  for (let k = 0; k < n; k++) {
    let v = a[k] * x[k];
    if (k + 1 < n) v += e[k] * x[k + 1];
    if (k >= 1) v += e[k - 1] * x[k - 1];
    if (k + ncol < n) v += s[k] * x[k + ncol];
    if (k >= ncol) v += s[k - ncol] * x[k - ncol];
    y[k] = v;
  }
}

/** MIC(0) pivots: d_k = a_k - (e_{k-1}^2 + w e_{k-1} s_{k-1}) / d_{k-1} - (s_{k-n}^2 + w s_{k-n} e_{k-n}) / d_{k-n}. */
function micPivots(sys, ncol, relax) {
  const { a, e, s } = sys;
  const n = a.length;
  const d = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    let v = a[k];
    if (k >= 1 && e[k - 1] !== 0) v -= (e[k - 1] * (e[k - 1] + relax * s[k - 1])) / d[k - 1];
    if (k >= ncol && s[k - ncol] !== 0)
      v -= (s[k - ncol] * (s[k - ncol] + relax * e[k - ncol])) / d[k - ncol];
    // Guard against loss of positivity (cannot happen for an M-matrix with relax <= 1, kept for safety).
    d[k] = v > 1e-12 * a[k] ? v : a[k];
  }
  return d;
}

/** z = M^-1 r with M = (D + L) D^-1 (D + L^T). */
function precondition(sys, ncol, d, r, z) {
  const { e, s } = sys;
  const n = d.length;
  for (let k = 0; k < n; k++) {
    let v = r[k];
    if (k >= 1) v -= e[k - 1] * z[k - 1];
    if (k >= ncol) v -= s[k - ncol] * z[k - ncol];
    z[k] = v / d[k];
  }
  for (let k = n - 1; k >= 0; k--) {
    let v = 0;
    if (k + 1 < n) v += e[k] * z[k + 1];
    if (k + ncol < n) v += s[k] * z[k + ncol];
    z[k] -= v / d[k];
  }
}

function solvePCG(m, sys, h, log) {
  const { ncol, n } = m;
  const d = micPivots(sys, ncol, m.relax);
  const r = new Float64Array(n);
  const z = new Float64Array(n);
  const p = new Float64Array(n);
  const q = new Float64Array(n);
  matvec(sys, ncol, h, q);
  let rmax = 0;
  for (let k = 0; k < n; k++) {
    r[k] = sys.b[k] - q[k];
    rmax = Math.max(rmax, Math.abs(r[k]));
  }
  precondition(sys, ncol, d, r, z);
  let rz = 0;
  for (let k = 0; k < n; k++) {
    p[k] = z[k];
    rz += r[k] * z[k];
  }
  let iter = 0;
  let hmax = 0;
  let converged = false;
  while (iter < m.mxiter) {
    iter++;
    matvec(sys, ncol, p, q);
    let pq = 0;
    for (let k = 0; k < n; k++) pq += p[k] * q[k];
    if (pq <= 0) break; // exact solution reached (p = 0) or breakdown
    const alpha = rz / pq;
    hmax = 0;
    rmax = 0;
    for (let k = 0; k < n; k++) {
      const dh = alpha * p[k];
      h[k] += dh;
      r[k] -= alpha * q[k];
      if (Math.abs(dh) > Math.abs(hmax)) hmax = dh;
      if (Math.abs(r[k]) > rmax) rmax = Math.abs(r[k]);
    }
    if (iter <= 5 || iter % 25 === 0) log(iter, hmax, rmax);
    if (Math.abs(hmax) <= m.hclose && rmax <= m.rclose) {
      converged = true;
      break;
    }
    precondition(sys, ncol, d, r, z);
    let rzNew = 0;
    for (let k = 0; k < n; k++) rzNew += r[k] * z[k];
    const beta = rzNew / rz;
    rz = rzNew;
    for (let k = 0; k < n; k++) p[k] = z[k] + beta * p[k];
  }
  if (!converged && rmax <= m.rclose && Math.abs(hmax) <= m.hclose) converged = true;
  return { converged, iter, hmax, rmax };
}

// ---------------------------------------------------------------- budget and output

function budget(m, cr, cc, h) {
  const { nrow, ncol, n } = m;
  const terms = {
    "CONSTANT HEAD": { in: 0, out: 0 },
    WELLS: { in: 0, out: 0 },
    RECHARGE: { in: 0, out: 0 },
    "RIVER LEAKAGE": { in: 0, out: 0 },
  };
  const add = (term, q) => {
    if (q >= 0) terms[term].in += q;
    else terms[term].out -= q;
  };
  // Constant-head cells: net flow from each cell into the aquifer.
  for (let k = 0; k < n; k++) {
    if (m.ibound[k] >= 0) continue;
    const i = Math.floor(k / ncol);
    const j = k % ncol;
    let q = 0;
    if (j > 0 && m.ibound[k - 1] > 0) q += cr[k - 1] * (h[k] - h[k - 1]);
    if (j + 1 < ncol && m.ibound[k + 1] > 0) q += cr[k] * (h[k] - h[k + 1]);
    if (i > 0 && m.ibound[k - ncol] > 0) q += cc[k - ncol] * (h[k] - h[k - ncol]);
    if (i + 1 < nrow && m.ibound[k + ncol] > 0) q += cc[k] * (h[k] - h[k + ncol]);
    add("CONSTANT HEAD", q);
  }
  for (let k = 0; k < n; k++) {
    if (m.ibound[k] > 0) add("RECHARGE", m.rch[k] * m.delr[k % ncol] * m.delc[Math.floor(k / ncol)]);
  }
  for (const w of m.wells) add("WELLS", w.q);
  for (const r of m.rivers) add("RIVER LEAKAGE", r.cond * (r.stage - h[r.k]));
  let totIn = 0;
  let totOut = 0;
  for (const t of Object.values(terms)) {
    totIn += t.in;
    totOut += t.out;
  }
  const discrepancy = totIn + totOut === 0 ? 0 : (100 * (totIn - totOut)) / ((totIn + totOut) / 2);
  return { terms, totIn, totOut, discrepancy };
}

function budgetLines(bud) {
  const L = [];
  const row = (label, v) => `${rj(label, 21)} =${budgetNum(v)}${rj(label, 22)} =${budgetNum(v)}`;
  L.push("");
  L.push("  VOLUMETRIC BUDGET FOR ENTIRE MODEL AT END OF TIME STEP    1, STRESS PERIOD   1");
  L.push("  ------------------------------------------------------------------------------");
  L.push("");
  L.push("     CUMULATIVE VOLUMES      L**3       RATES FOR THIS TIME STEP      L**3/T");
  L.push("     ------------------                 ------------------------");
  L.push("");
  L.push("           IN:                                      IN:");
  L.push("           ---                                      ---");
  L.push(row("STORAGE", 0));
  for (const [name, t] of Object.entries(bud.terms)) L.push(row(name, t.in));
  L.push("");
  L.push(row("TOTAL IN", bud.totIn));
  L.push("");
  L.push("          OUT:                                     OUT:");
  L.push("          ----                                     ----");
  L.push(row("STORAGE", 0));
  for (const [name, t] of Object.entries(bud.terms)) L.push(row(name, t.out));
  L.push("");
  L.push(row("TOTAL OUT", bud.totOut));
  L.push("");
  L.push(row("IN - OUT", bud.totIn - bud.totOut));
  L.push("");
  const pd = rj(bud.discrepancy.toFixed(2), 18);
  L.push(`  PERCENT DISCREPANCY =${pd}     PERCENT DISCREPANCY =${pd}`);
  L.push("");
  return L;
}

function headArrayText(m, h) {
  const L = [];
  L.push(
    ` HEAD IN LAYER   1 AT END OF TIME STEP   1 IN STRESS PERIOD   1   NROW ${rj(m.nrow, 4)}   NCOL ${rj(m.ncol, 4)}   HNOFLO ${fmtE(m.hnoflo, 5)}`,
  );
  for (let i = 0; i < m.nrow; i++) {
    for (let j0 = 0; j0 < m.ncol; j0 += 10) {
      let line = "";
      for (let j = j0; j < Math.min(j0 + 10, m.ncol); j++) line += rj(fmtE(h[i * m.ncol + j], 6), 14);
      L.push(line);
    }
  }
  return `${L.join("\n")}\n`;
}

function headsOutText(m, h) {
  const L = [`${lj("OBSNAME", 14)}${rj("SIMULATED_HEAD", 18)}${rj("ROW", 6)}${rj("COL", 6)}`];
  for (const o of m.obs) {
    const [r, c] = rc(m, o.k);
    L.push(`${lj(o.name, 14)}${rj(fmtE(h[o.k], 9), 18)}${rj(r, 6)}${rj(c, 6)}`);
  }
  return `${L.join("\n")}\n`;
}

// ---------------------------------------------------------------- main

function banner() {
  return [
    "                                  GWFLOW",
    "      2-D STEADY-STATE CONFINED GROUNDWATER FLOW MODEL (BLOCK-CENTRED FINITE DIFFERENCES)",
    `                             Version ${VERSION} (mfpar demo)`,
    "",
  ];
}

function main(argv) {
  const t0 = process.hrtime.bigint();
  if (argv.length !== 1 || argv[0] === "-h" || argv[0] === "--help") {
    process.stderr.write("usage: node gwflow.mjs <name file>\n");
    return 2;
  }
  const namPath = argv[0];
  for (const l of banner()) process.stdout.write(`${l}\n`);
  process.stdout.write(` Using NAME file: ${namPath}\n`);

  const lst = [...banner(), ` LIST FILE: ${namPath.replace(/\.[^.]*$/, "")}.lst`, ""];
  let lstPath;
  try {
    const files = readNameFile(namPath);
    lstPath = files.LIST.path;
    lst[banner().length] = ` LIST FILE: ${files.LIST.name}`;
    lst.push(` NAME FILE: ${namPath}`);
    for (const [ftype, f] of Object.entries(files)) lst.push(`   ${lj(ftype, 7)} ${f.name}`);
    lst.push("");
    const echo = [];
    const m = readModel(files, echo);
    lst.push(...echo, "");

    process.stdout.write(" Solving:  Stress period:     1    Time step:     1    Groundwater-Flow Eqn.\n");
    const { cr, cc } = conductances(m);
    const sys = assemble(m, cr, cc);
    const h = new Float64Array(m.n);
    for (let k = 0; k < m.n; k++) {
      if (m.ibound[k] > 0) h[k] = m.strt[k];
      else h[k] = sys.b[k];
    }
    lst.push(" PCG ITERATION SUMMARY");
    lst.push("   ITER   MAX HEAD CHANGE    MAX RESIDUAL");
    const res = solvePCG(m, sys, h, (it, dh, rr) => {
      lst.push(`${rj(it, 7)}${rj(fmtE(dh, 5), 18)}${rj(fmtE(rr, 5), 16)}`);
    });
    lst.push(
      `   ${res.iter} PCG ITERATIONS; LAST MAX HEAD CHANGE ${fmtE(res.hmax, 5)}, MAX RESIDUAL ${fmtE(res.rmax, 5)}`,
    );
    lst.push("");

    let hmin = Number.POSITIVE_INFINITY;
    let hmaxv = Number.NEGATIVE_INFINITY;
    for (let k = 0; k < m.n; k++) {
      if (m.ibound[k] === 0) continue;
      hmin = Math.min(hmin, h[k]);
      hmaxv = Math.max(hmaxv, h[k]);
    }
    lst.push(` HEADS: MINIMUM ${fmtE(hmin, 6)}   MAXIMUM ${fmtE(hmaxv, 6)}`);
    if (files.HDS) {
      writeFileSync(files.HDS.path, headArrayText(m, h));
      lst.push(` HEAD WILL BE SAVED ON FILE: ${files.HDS.name}`);
    }
    if (files.HOBOUT) {
      writeFileSync(files.HOBOUT.path, headsOutText(m, h));
      lst.push(` SIMULATED HEADS AT OBSERVATION WELLS SAVED ON FILE: ${files.HOBOUT.name}`);
      lst.push(`   ${lj("OBSNAME", 12)}${rj("ROW", 5)}${rj("COL", 5)}${rj("HEAD", 16)}`);
      for (const o of m.obs) {
        const [r, c] = rc(m, o.k);
        lst.push(`   ${lj(o.name, 12)}${rj(r, 5)}${rj(c, 5)}${rj(fmtE(h[o.k], 6), 16)}`);
      }
    }

    const bud = budget(m, cr, cc, h);
    lst.push(...budgetLines(bud));

    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    if (res.converged) {
      lst.push(" Normal termination of simulation");
      writeFileSync(lstPath, `${lst.join("\n")}\n`);
      process.stdout.write(` PCG converged in ${res.iter} iterations\n`);
      process.stdout.write(` Elapsed run time: ${secs.toFixed(3)} Seconds\n\n`);
      process.stdout.write("  Normal termination of simulation\n");
    } else {
      const msg = "  ****FAILED TO CONVERGE IN TIME STEP 1 OF STRESS PERIOD 1****";
      lst.push(msg);
      lst.push(
        `  SOLVER STOPPED AFTER MXITER = ${m.mxiter} ITERATIONS; HEADS AND BUDGET ABOVE ARE NOT CONVERGED`,
      );
      writeFileSync(lstPath, `${lst.join("\n")}\n`);
      process.stdout.write(`${msg}\n`);
      process.stdout.write(` Elapsed run time: ${secs.toFixed(3)} Seconds\n\n`);
      process.stdout.write(" FAILED TO CONVERGE: simulation stopped without a converged solution\n");
    }
    return 0;
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    const msg = ` ERROR: ${err.message}`;
    process.stderr.write(`${msg}\n`);
    process.stdout.write(" STOP: invalid input (error on stderr)\n");
    if (lstPath) {
      lst.push(msg, " STOP: invalid input");
      try {
        writeFileSync(lstPath, `${lst.join("\n")}\n`);
      } catch {
        // listing could not be written either; the message went to stderr
      }
    }
    return 1;
  }
}

process.exitCode = main(process.argv.slice(2));
