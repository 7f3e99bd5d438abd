// report.html for a calibration: one self-contained page (inline CSS and SVG, no script), drawn with the
// ensemble report's machinery (Vega-Lite compiled to SVG at build time, lib/report/charts.ts).
import type { TopLevelSpec } from "vega-lite";
import { formatInt, formatValue } from "../format/number.js";
import { figure, escapeHtml as h, htmlPage } from "../report/html.js";
import { formatPhi } from "./progress.js";
import type { CalibrationResults, ParameterResult } from "./results.js";

export interface CalibrationReportFacts {
  project: string;
  calibration: string;
  engine: string;
  status: string;
  store: string;
  generatedAt: string;
  /** Iterations made before the last start (a resumed run counts from 0 again). */
  iterationsBefore?: number;
  starts?: { at: string; how: string }[];
}

const CSS = `
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; color: #222; margin: 0; }
main { max-width: 1080px; margin: 0 auto; padding: 24px 28px 48px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 18px; margin: 32px 0 8px; padding-bottom: 4px; border-bottom: 2px solid #e5e5e5; }
.sub, .note { color: #555; } .note { font-size: 12.5px; }
table { border-collapse: collapse; margin: 8px 0 12px; font-size: 13px; }
th, td { border-bottom: 1px solid #e5e5e5; padding: 3px 10px 3px 0; text-align: left; vertical-align: top; }
th { font-weight: 600; border-bottom: 1px solid #bbb; } td.r, th.r { text-align: right; font-variant-numeric: tabular-nums; }
tr.flag td { background: #fff4e5; } .badge { font-size: 12px; padding: 1px 6px; border-radius: 8px; background: #f0f0f0; white-space: nowrap; }
.badge.not { background: #fde2d8; color: #8a2a00; } .badge.weakly { background: #fff0c2; color: #6b4e00; } .badge.bound { background: #e3ecff; color: #133c8a; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 8px 0; } dl.facts dt { color: #666; } dl.facts dd { margin: 0; }
figure { margin: 12px 0 20px; break-inside: avoid; } figure svg { max-width: 100%; height: auto; } figcaption { color: #555; font-size: 12.5px; margin-top: 4px; max-width: 820px; }
@media print { main { max-width: none; padding: 0; } }
`;

const BLUE = "#0072B2";
const VERMILION = "#D55E00";
const GREY = "#999999";

function table(header: string[], rows: string[][], align: ("l" | "r")[], flagged: boolean[] = []): string {
  const cls = (i: number) => (align[i] === "r" ? ' class="r"' : "");
  return `<table><thead><tr>${header.map((c, i) => `<th${cls(i)}>${h(c)}</th>`).join("")}</tr></thead><tbody>${rows
    .map(
      (r, j) =>
        `<tr${flagged[j] ? ' class="flag"' : ""}>${r.map((c, i) => `<td${cls(i)}>${c}</td>`).join("")}</tr>`,
    )
    .join("")}</tbody></table>`;
}

/** Phi against iteration, log scale; pestpp-ies: the mean with the min–max band of the realizations. */
export function phiSpec(r: CalibrationResults, offset = 0): TopLevelSpec {
  const rows = r.phi
    .filter((p) => p.phi > 0)
    .map((p) => ({ iteration: p.iteration + offset, phi: p.phi, min: p.min, max: p.max }));
  const y = {
    field: "phi",
    type: "quantitative" as const,
    scale: { type: "log" as const },
    title: r.engine === "pestpp-ies" ? "Mean phi" : "Phi",
  };
  const x = {
    field: "iteration",
    type: "quantitative" as const,
    title: "Iteration",
    axis: { tickMinStep: 1 },
  };
  const layers: TopLevelSpec[] = [];
  if (r.engine === "pestpp-ies")
    layers.push({
      mark: { type: "area", color: BLUE, opacity: 0.18 },
      encoding: {
        x,
        y: { field: "min", type: "quantitative", scale: { type: "log" } },
        y2: { field: "max" },
      },
    } as TopLevelSpec);
  layers.push({ mark: { type: "line", color: BLUE, point: true }, encoding: { x, y } } as TopLevelSpec);
  return { data: { values: rows }, width: 560, height: 220, layer: layers } as TopLevelSpec;
}

/** Phi per observation group (groups with weight 0 everywhere are left out). */
export function groupPhiSpec(r: CalibrationResults, offset = 0): TopLevelSpec {
  const rows = r.phi.flatMap((p) =>
    Object.entries(p.groups)
      .filter(([, v]) => v > 0)
      .map(([group, v]) => ({ iteration: p.iteration + offset, group, phi: v })),
  );
  return {
    data: { values: rows },
    width: 560,
    height: 200,
    mark: { type: "line", point: true },
    encoding: {
      x: { field: "iteration", type: "quantitative", title: "Iteration", axis: { tickMinStep: 1 } },
      y: { field: "phi", type: "quantitative", scale: { type: "log" }, title: "Phi of the group" },
      color: { field: "group", type: "nominal", title: "Group" },
    },
  } as TopLevelSpec;
}

/** Each parameter's value per iteration (log scale for log parameters), with its bounds as dashed rules. */
export function trajectorySpec(r: CalibrationResults, offset = 0): TopLevelSpec {
  const rows = r.parameters.flatMap((p) =>
    p.trajectory.map((t) => ({ parameter: p.name, iteration: t.iteration + offset, value: t.value })),
  );
  return {
    data: { values: rows },
    facet: { field: "parameter", type: "nominal", title: null, sort: r.parameters.map((p) => p.name) },
    columns: 3,
    spec: {
      width: 230,
      height: 120,
      mark: { type: "line", point: true, color: BLUE },
      encoding: {
        x: { field: "iteration", type: "quantitative", title: "Iteration", axis: { tickMinStep: 1 } },
        y: { field: "value", type: "quantitative", title: "Value", scale: { zero: false } },
      },
    },
    resolve: { scale: { y: "independent" } },
  } as TopLevelSpec;
}

/** Where the initial and final values sit between the bounds (0 = lower, 1 = upper; log space for log parameters). */
export function boundsSpec(r: CalibrationResults): TopLevelSpec {
  const pos = (p: ParameterResult, v: number) =>
    p.transform === "log"
      ? (Math.log10(v) - Math.log10(p.lower)) / (Math.log10(p.upper) - Math.log10(p.lower))
      : (v - p.lower) / (p.upper - p.lower);
  const rows = r.parameters.flatMap((p) => [
    { parameter: p.name, what: "initial", at: pos(p, p.initial) },
    ...(p.final !== undefined
      ? [
          {
            parameter: p.name,
            what: r.engine === "pestpp-ies" ? "posterior median" : "final",
            at: pos(p, p.final),
          },
        ]
      : []),
    ...(p.p5 !== undefined && p.p95 !== undefined
      ? [{ parameter: p.name, what: "P5–P95", at: pos(p, p.p5), at2: pos(p, p.p95) }]
      : []),
  ]);
  return {
    data: { values: rows },
    width: 560,
    height: { step: 22 },
    layer: [
      {
        mark: { type: "rule", color: "#ddd", strokeWidth: 6 },
        encoding: {
          y: { field: "parameter", type: "nominal", sort: null, title: null },
          x: { datum: 0 },
          x2: { datum: 1 },
        },
      },
      {
        transform: [{ filter: "datum.what === 'P5–P95'" }],
        mark: { type: "rule", color: BLUE, strokeWidth: 3 },
        encoding: {
          y: { field: "parameter", type: "nominal", sort: null },
          x: { field: "at", type: "quantitative" },
          x2: { field: "at2" },
        },
      },
      {
        transform: [{ filter: "datum.what !== 'P5–P95'" }],
        mark: { type: "point", filled: true, size: 70 },
        encoding: {
          y: { field: "parameter", type: "nominal", sort: null },
          x: {
            field: "at",
            type: "quantitative",
            scale: { domain: [0, 1] },
            title: "Position between lower (0) and upper (1) bound",
          },
          color: {
            field: "what",
            type: "nominal",
            title: null,
            scale: {
              domain: ["initial", r.engine === "pestpp-ies" ? "posterior median" : "final"],
              range: [GREY, VERMILION],
            },
          },
        },
      },
    ],
  } as TopLevelSpec;
}

/** Measured against simulated, weighted observations, with the 1:1 line. */
export function measuredSpec(r: CalibrationResults): TopLevelSpec {
  const rows = r.residuals.filter((x) => x.weight > 0).map((x) => ({ ...x }));
  const lo = Math.min(...rows.flatMap((x) => [x.measured, x.simulated]));
  const hi = Math.max(...rows.flatMap((x) => [x.measured, x.simulated]));
  return {
    width: 360,
    height: 360,
    layer: [
      {
        data: { values: [{ v: lo }, { v: hi }] },
        mark: { type: "line", color: GREY, strokeDash: [4, 4] },
        encoding: { x: { field: "v", type: "quantitative" }, y: { field: "v", type: "quantitative" } },
      },
      ...(r.engine === "pestpp-ies"
        ? [
            {
              data: { values: rows },
              mark: { type: "rule", color: BLUE, opacity: 0.5 },
              encoding: {
                x: { field: "measured", type: "quantitative" },
                y: { field: "p5", type: "quantitative" },
                y2: { field: "p95" },
              },
            },
          ]
        : []),
      {
        data: { values: rows },
        mark: { type: "point", filled: true, size: 50 },
        encoding: {
          x: {
            field: "measured",
            type: "quantitative",
            scale: { zero: false, domain: [lo, hi] },
            title: "Measured",
          },
          y: {
            field: "simulated",
            type: "quantitative",
            scale: { zero: false, domain: [lo, hi] },
            title: "Simulated",
          },
          color: { field: "group", type: "nominal", title: "Group" },
          tooltip: [{ field: "name" }, { field: "measured" }, { field: "simulated" }],
        },
      },
    ],
  } as TopLevelSpec;
}

/** pestpp-ies: prior and posterior distribution of each parameter (log10 for log parameters). */
export function ensembleSpec(r: CalibrationResults): TopLevelSpec {
  const e = r.ensembles!;
  const rows = r.parameters.flatMap((p) => {
    const t = (v: number) => (p.transform === "log" ? Math.log10(v) : v);
    const label = p.transform === "log" ? `log10 ${p.name}` : p.name;
    return [
      ...(e.prior.get(p.name) ?? []).map((v) => ({ parameter: label, ensemble: "prior", value: t(v) })),
      ...(e.posterior.get(p.name) ?? []).map((v) => ({
        parameter: label,
        ensemble: "posterior",
        value: t(v),
      })),
    ];
  });
  return {
    data: { values: rows },
    facet: { field: "parameter", type: "nominal", title: null },
    columns: 3,
    spec: {
      width: 230,
      height: 110,
      mark: { type: "bar", opacity: 0.6 },
      encoding: {
        x: { field: "value", type: "quantitative", bin: { maxbins: 20 }, title: null },
        y: { aggregate: "count", type: "quantitative", title: "Realizations", stack: null },
        color: {
          field: "ensemble",
          type: "nominal",
          title: null,
          scale: { domain: ["prior", "posterior"], range: [GREY, BLUE] },
        },
      },
    },
    resolve: { scale: { x: "independent" } },
  } as TopLevelSpec;
}

const n = (v: number | undefined) => (v === undefined ? "" : h(formatValue(v)));

function note(p: ParameterResult): string {
  const out: string[] = [];
  if (p.informed === "not")
    out.push(
      `<span class="badge not">not informed by the data</span> posterior sd ${formatValue(p.worstRatio!)} × prior sd: the value is not a calibrated one`,
    );
  else if (p.informed === "weakly")
    out.push(
      `<span class="badge weakly">weakly informed</span> posterior sd ${formatValue(p.worstRatio!)} × prior sd`,
    );
  if (p.atBound) out.push(`<span class="badge bound">at its ${p.atBound} bound</span>`);
  if (p.transform === "fixed") out.push("fixed");
  return out.join(" ");
}

/** Renders the calibration report page. */
export async function renderCalibrationReport(
  f: CalibrationReportFacts,
  r: CalibrationResults,
): Promise<string> {
  const offset = f.iterationsBefore ?? 0;
  const title = `${f.project} / ${f.calibration} — calibration report`;
  const first = r.phi[0];
  const last = r.phi.at(-1);
  const parts: string[] = [`<h1>${h(title)}</h1>`];
  parts.push(
    `<p class="sub">Generated ${h(f.generatedAt.replace("T", " ").slice(0, 19))} UTC · ${h(f.engine)} · ${formatInt(r.parameters.length)} parameters · ${formatInt(r.control.observations.filter((o) => o.weight > 0).length)} weighted observations</p>`,
  );
  const facts: [string, string][] = [
    ["Calibration", f.calibration],
    ["Engine", f.engine],
    ["Status", f.status],
    ["Iterations", last ? String(last.iteration + offset) : "—"],
    ["Model runs", `${formatInt(r.runs)}${offset ? " (since the last start)" : ""}`],
    [
      r.engine === "pestpp-ies" ? "Mean phi" : "Phi",
      first && last ? `${formatPhi(first.phi)} → ${formatPhi(last.phi)}` : "—",
    ],
    ["Master files", f.store],
  ];
  for (const s of f.starts ?? []) facts.push([`Started ${s.at.replace("T", " ").slice(0, 19)}`, s.how]);
  parts.push(
    `<section><h2>Calibration</h2><dl class="facts">${facts.map(([k, v]) => `<dt>${h(k)}</dt><dd>${h(v)}</dd>`).join("")}</dl></section>`,
  );

  if (r.phi.length) {
    parts.push(
      `<section><h2>Objective function</h2>${await figure(
        phiSpec(r, offset),
        r.engine === "pestpp-ies"
          ? "Mean phi of the ensemble per iteration (log scale); the band spans the lowest to the highest realization."
          : "Phi (weighted sum of squared residuals) per iteration, log scale.",
        "Phi per iteration",
      )}${
        new Set(
          r.phi.flatMap((p) =>
            Object.entries(p.groups)
              .filter(([, v]) => v > 0)
              .map(([g]) => g),
          ),
        ).size > 1
          ? await figure(
              groupPhiSpec(r, offset),
              "Phi per observation group (groups with weight 0 are not shown).",
              "Phi per group",
            )
          : ""
      }${table(
        [
          "Iteration",
          "Runs",
          r.engine === "pestpp-ies" ? "Mean phi" : "Phi",
          ...Object.keys(r.phi[0]!.groups),
        ],
        r.phi.map((p) => [
          String(p.iteration + offset),
          formatInt(p.runs),
          h(formatPhi(p.phi)),
          ...Object.values(p.groups).map((v) => h(formatPhi(v))),
        ]),
        ["r", "r", "r", ...Object.keys(r.phi[0]!.groups).map(() => "r" as const)],
      )}</section>`,
    );
  }

  const flagged = r.parameters.filter((p) => p.informed === "not" || p.atBound);
  const ies = r.engine === "pestpp-ies";
  parts.push(
    `<section><h2>Parameters</h2>${
      flagged.length
        ? `<p><strong>${flagged.length} of ${r.parameters.length} parameter${r.parameters.length === 1 ? "" : "s"} should not be read as calibrated:</strong> ${flagged.map((p) => h(p.name)).join(", ")} — the observations do not constrain ${flagged.length === 1 ? "it" : "them"} (posterior sd close to the prior sd) or ${flagged.length === 1 ? "it" : "they"} ended on a bound.</p>`
        : ""
    }${table(
      [
        "Parameter",
        "Group",
        "Transform",
        "Initial",
        ies ? "Posterior median" : "Final",
        ...(ies ? ["P5", "P95"] : []),
        "Lower",
        "Upper",
        "Prior sd",
        "Posterior sd",
        "Ratio",
        "",
      ],
      r.parameters.map((p) => [
        h(p.name),
        h(p.group),
        h(p.transform),
        n(p.initial),
        n(p.final),
        ...(ies ? [n(p.p5), n(p.p95)] : []),
        n(p.lower),
        n(p.upper),
        n(p.priorSd),
        n(p.postSd),
        n(p.worstRatio),
        note(p),
      ]),
      ["l", "l", "l", "r", "r", ...(ies ? (["r", "r"] as const) : []), "r", "r", "r", "r", "r", "l"],
      r.parameters.map((p) => p.informed === "not" || p.atBound !== undefined),
    )}<p class="note">Standard deviations in the transformed space (log10 for log parameters). ${
      ies
        ? "Prior: the iteration-0 ensemble; posterior: the last iteration's."
        : "Prior from the bounds (PEST++'s default: a quarter of the range); posterior from PEST++'s first-order (FOSM) analysis. Ratio: the largest posterior/prior ratio over the iterations' analyses, since a linear analysis at one point can overstate what the data say."
    } A ratio of ${formatValue(0.9)} or more means the data hardly inform the parameter (flagged “not informed”); ${formatValue(0.5)} or more, “weakly informed”.</p>${await figure(
      boundsSpec(r),
      `Initial and ${ies ? "posterior median (with P5–P95)" : "final"} values between the bounds (log space for log parameters).`,
      "Parameters against their bounds",
    )}${
      r.parameters.some((p) => p.trajectory.length > 1)
        ? await figure(
            trajectorySpec(r, offset),
            `Parameter values per iteration${ies ? " (ensemble median)" : ""}.`,
            "Parameter trajectories",
          )
        : ""
    }</section>`,
  );

  if (ies && r.ensembles)
    parts.push(
      `<section><h2>Prior and posterior ensembles</h2>${await figure(
        ensembleSpec(r),
        `Distribution of each parameter over the realizations: prior (iteration 0) and posterior (iteration ${r.ensembles.lastIteration}).`,
        "Prior and posterior ensembles",
      )}</section>`,
    );

  const weighted = r.residuals.filter((x) => x.weight > 0);
  if (weighted.length)
    parts.push(
      `<section><h2>Measured and simulated</h2>${await figure(
        measuredSpec(r),
        `Weighted observations at the end${ies ? " (posterior median, P5–P95 as bars)" : ""}; dashed: 1:1.`,
        "Measured against simulated",
      )}${table(
        [
          "Observation",
          "Group",
          "Measured",
          "Simulated",
          "Residual",
          "Weight",
          ...(ies ? ["P5", "P95"] : []),
        ],
        r.residuals.map((x) => [
          h(x.name),
          h(x.group),
          x.weight > 0 ? n(x.measured) : "",
          n(x.simulated),
          x.weight > 0 ? n(x.measured - x.simulated) : "",
          n(x.weight),
          ...(ies ? [n(x.p5), n(x.p95)] : []),
        ]),
        ["l", "l", "r", "r", "r", "r", ...(ies ? (["r", "r"] as const) : [])],
      )}<p class="note">Observations with weight 0 are carried for information (no measured value is compared).</p></section>`,
    );
  parts.push(`<p class="note">Made by mfpar from the master's files (${h(f.store)}).</p>`);
  return htmlPage(title, CSS, parts);
}
