// The import graph (dependency-cruiser over the TypeScript sources, type-only imports included): no cycle, and
// arrows only inward — entry points (scripts, actions, agent, cdktf) and the test harness (testing/) import
// lib/, never the other way; inside lib/ a room imports only the rooms listed before it in LIB_ROOMS.
// A type-only import counts: two rooms whose types know each other are one room in two folders.
import { cruise, type IForbiddenRuleType, type IReporterOutput } from "dependency-cruiser";
import { describe, expect, it } from "vitest";
import { repoRoot } from "../support/tmp.js";

/**
 * lib/'s rooms, lowest first (docs/architecture.md draws them). A room is a folder (`lib/store/`) or a file
 * at lib/'s top (`lib/time.ts`).
 */
const LIB_ROOMS = [
  // Vocabulary every room may use: errors, exit codes, time, formatting, statistics, names, process trees.
  "errors",
  "exit-codes",
  "time",
  "log",
  "concurrency",
  "small-files",
  "typed-arrays",
  "format",
  "stats",
  "naming",
  "process",
  "aws-calls",
  "aws-errors",
  // What files mean: PEST and MODFLOW formats, the project configuration.
  "pest",
  "modflow",
  "config",
  // Where results live, what AWS is asked for.
  "store",
  "infra",
  "ecs",
  "pricing",
  // One realization; a batch of them; where it stands; the ensemble report.
  "agent",
  "batch",
  "status",
  "report",
  // Whole jobs built on the rooms above.
  "local",
  "calibrate",
  "closeout",
  "validate",
] as const;

const room = (name: string) => `^lib/${name}(/|\\.ts$)`;

function rules(): IForbiddenRuleType[] {
  const out: IForbiddenRuleType[] = [
    { name: "no-cycle", severity: "error", from: {}, to: { circular: true } },
    {
      name: "lib-imports-no-entry-point",
      severity: "error",
      from: { path: "^lib/" },
      to: { path: "^(scripts|actions|agent|cdktf|testing|test)/" },
    },
    {
      name: "testing-imports-lib-only",
      severity: "error",
      from: { path: "^testing/" },
      to: { path: "^(scripts|actions|agent|cdktf|test)/" },
    },
    {
      name: "entry-points-import-no-tests",
      severity: "error",
      from: { path: "^(scripts|actions|agent|lib)/" },
      to: { path: "^test/" },
    },
    {
      name: "entry-points-stay-apart",
      severity: "error",
      from: { path: "^(actions|agent)/" },
      to: { path: "^(scripts|cdktf|agent/|actions/)", pathNot: "^$1/" },
    },
    {
      name: "cdktf-only-in-cdktf",
      severity: "error",
      from: { pathNot: "^cdktf/" },
      to: { path: "node_modules/(cdktf|@cdktf|constructs)/" },
    },
    {
      name: "lib-room-known",
      severity: "error",
      from: { path: "^lib/", pathNot: `^lib/(${LIB_ROOMS.join("|")})(/|\\.ts$)` },
      to: {},
    },
  ];
  LIB_ROOMS.forEach((name, i) => {
    const higher = LIB_ROOMS.slice(i + 1);
    if (higher.length)
      out.push({
        name: `lib-${name}-imports-only-lower-rooms`,
        severity: "error",
        from: { path: room(name) },
        to: { path: `^lib/(${higher.join("|")})(/|\\.ts$)` },
      });
  });
  return out;
}

describe("the import graph", () => {
  it("has no cycle and no arrow from a lower room into a higher one", async () => {
    const prev = process.cwd();
    process.chdir(repoRoot);
    let result: IReporterOutput;
    try {
      result = await cruise(
        ["lib", "scripts", "actions", "agent", "cdktf", "testing", "test"],
        {
          validate: true,
          ruleSet: { forbidden: rules() },
          tsPreCompilationDeps: true,
          doNotFollow: { path: "node_modules" },
          exclude: { path: "(^|/)(dist|cdktf\\.out|fixtures)/" },
        },
        undefined,
        { tsConfig: { fileName: "tsconfig.json" } } as never,
      );
    } finally {
      process.chdir(prev);
    }
    const output = typeof result.output === "string" ? JSON.parse(result.output) : result.output;
    const violations = (
      output.summary.violations as {
        rule: { name: string };
        from: string;
        to: string;
        cycle?: { name: string }[];
      }[]
    ).map(
      (v) =>
        `${v.rule.name}: ${v.from} → ${v.to}${v.cycle ? ` (cycle: ${v.cycle.map((c) => c.name).join(" → ")})` : ""}`,
    );
    expect(violations).toEqual([]);
    // The graph was really read: lib/ and every entry point are in it.
    expect(output.summary.totalCruised).toBeGreaterThan(250);
  });
});
