// biome-ignore-all lint/suspicious/noTemplateCurlyInString: GitHub expressions (${{ }}) are the data under test
// ShellCheck over every run: block (scripts/shellcheck-workflows.mjs): clean on this repository's workflows
// and actions, and it catches what it is there for — a variable no one sets (SC2154), e.g. an env name with a
// hyphen that bash can never read. Fails (never skips) when shellcheck is not installed.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
// @ts-expect-error: a plain .mjs script without type declarations
import { shellcheckVersion, shellcheckWorkflows } from "../../scripts/shellcheck-workflows.mjs";
import { repoRoot } from "../support/tmp.js";

interface Finding {
  file: string;
  line: number;
  column: number;
  code: string;
  level: string;
  message: string;
}
const show = (fs: Finding[]) =>
  fs.map((f) => `${f.file}:${f.line}:${f.column} ${f.code} ${f.message}`).join("\n");

describe("shellcheck over run: blocks", () => {
  it("is installed (Debian's shellcheck; scripts/setup.sh installs it)", () => {
    expect(shellcheckVersion()).toMatch(/^\d+\.\d+/);
  });

  it("finds nothing in this repository's workflows and actions", () => {
    const r = shellcheckWorkflows(join(repoRoot, ".github/workflows"), join(repoRoot, "actions"));
    expect(r.checked).toBeGreaterThan(20);
    expect(show(r.findings)).toBe("");
  });

  it("reports a variable read but never set as an error at its line, and declares the env names bash can read", () => {
    const dir = mkdtempSync(join(tmpdir(), "mfpar-shellcheck-"));
    try {
      writeFileSync(
        join(dir, "bad.yml"),
        [
          "on: push",
          "env: { project: demo }",
          "jobs:",
          "  a:",
          "    runs-on: ubuntu-24.04",
          "    env:",
          "      batch-id: x",
          "    steps:",
          '      - run: echo "$project ${{ github.sha }}"',
          "      - run: |",
          '          echo "$batch_id"',
          "",
        ].join("\n"),
      );
      const r = shellcheckWorkflows(dir);
      expect(r.findings).toEqual([
        {
          file: join(dir, "bad.yml"),
          line: 11,
          column: 17,
          code: "SC2154",
          level: "error",
          message: "batch_id is referenced but not assigned.",
          where: "job a step 2",
        },
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
