// `npm run docs:roles`: regenerates the roles table of docs/operations.md from the synthesized stacks
// (`--check`: exit 1 when the file is out of date, as the test does).
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { replaceRolesSection, rolesDoc } from "../cdktf/roles-doc.js";

const root = join(import.meta.dirname, "..");
const file = join(root, "docs", "operations.md");
const text = readFileSync(file, "utf8");
const updated = replaceRolesSection(text, await rolesDoc(join(root, "projects")));
if (process.argv.includes("--check")) {
  if (updated !== text) {
    process.stderr.write("docs/operations.md: the roles table is out of date; run `npm run docs:roles`\n");
    process.exitCode = 1;
  }
} else if (updated !== text) {
  writeFileSync(file, updated);
  process.stdout.write("docs/operations.md: roles table updated\n");
}
