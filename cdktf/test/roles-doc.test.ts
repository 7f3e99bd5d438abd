// docs/operations.md's roles table is generated from the synthesized stacks (`npm run docs:roles`), never edited
// by hand: this fails when a policy, a trust or a boundary changed and the table was not regenerated.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { ROLES_BEGIN, ROLES_END, replaceRolesSection, rolesDoc } from "../roles-doc.js";
import { SAMPLE_PROJECTS } from "./fixtures.js";

const DOC = join(import.meta.dirname, "..", "..", "docs", "operations.md");

let generated: string;
beforeAll(async () => {
  generated = await rolesDoc(SAMPLE_PROJECTS); // the stacks synthesized once for the file
});

describe("docs/operations.md roles table", () => {
  it("is what `npm run docs:roles` generates from the synthesized stacks", () => {
    const text = readFileSync(DOC, "utf8");
    const section = text.slice(text.indexOf(ROLES_BEGIN), text.indexOf(ROLES_END) + ROLES_END.length);
    // On failure: run `npm run docs:roles` and commit docs/operations.md.
    expect(section).toBe(generated);
  });

  it("names each role's claim, session and boundary", () => {
    const row = (role: string) => generated.split("\n").find((l) => l.startsWith(`| \`${role}\` |`)) ?? "";
    expect(row("mfpar-github-deploy")).toContain(
      "| GitHub Actions (OIDC)<br>`aud` = `sts.amazonaws.com`<br>`sub` = `repo:OWNER/REPO:environment:production` | 1 h | `mfpar-github-boundary` |",
    );
    expect(row("mfpar-github-close-out")).toContain(
      "`sub` = `repo:OWNER/REPO:environment:close-out` | 6 h |",
    );
    expect(row("mfpar-github-close-out")).toContain("`tag:GetResources` on `*`");
    expect(row("agente-choapa-us-east-1-task")).toContain("| 1 h | `mfpar-task-boundary` |");
    expect(generated).toContain(
      "**never** `s3:DeleteObject`, `s3:DeleteObjectVersion`, `s3:PutObject` on `arn:aws:s3:::123456789012-mfpar-tfstate/mfpar/mfpar-bootstrap.tfstate`",
    );
  });

  it("replaces only the marked section", () => {
    expect(
      replaceRolesSection(`a\n${ROLES_BEGIN}\nold\n${ROLES_END}\nb`, `${ROLES_BEGIN}\nnew\n${ROLES_END}`),
    ).toBe(`a\n${ROLES_BEGIN}\nnew\n${ROLES_END}\nb`);
    expect(() => replaceRolesSection("no markers", "x")).toThrow(/roles:begin/);
  });
});
