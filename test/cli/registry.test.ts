// The CLI's command registry: every command listed without importing it, imported when it runs, one exit-code
// table shown by `mfpar --help` and the README.
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { EXIT_CODE_TABLE, ExitCode } from "../../lib/exit-codes.js";
import type { CommandEntry } from "../../scripts/cli/command.js";
import { main } from "../../scripts/cli/main.js";
import { registry } from "../../scripts/cli/registry.js";
import { captureIo, runCliResolving, withAwsSdk, withPackages } from "../support/cli.js";
import { repoRoot } from "../support/tmp.js";

describe("the command registry", () => {
  it("loads, for every entry, the command of the same name", async () => {
    for (const entry of registry) expect((await entry.load()).name, entry.name).toBe(entry.name);
    expect(new Set(registry.map((e) => e.name)).size).toBe(registry.length);
  });

  it("lists every command and prints --version without importing any", async () => {
    const loaded: string[] = [];
    const entries: CommandEntry[] = registry.map((e) => ({
      ...e,
      load: () => {
        loaded.push(e.name);
        return e.load();
      },
    }));
    const help = captureIo();
    expect(await main(["--help"], help.io, entries)).toBe(ExitCode.Success);
    for (const e of registry) expect(help.out.stdout).toContain(`  ${e.name}`);
    const version = captureIo();
    expect(await main(["--version"], version.io, entries)).toBe(ExitCode.Success);
    expect(version.out.stdout).toBe("mfpar 0.1.0\n");
    expect(loaded).toEqual([]);
    // A command's help loads that command only.
    expect(await main(["template", "check", "--help"], captureIo().io, entries)).toBe(ExitCode.Success);
    expect(loaded).toEqual(["template check"]);
  });

  it("as a real process, --version and --help resolve no AWS SDK, Vega, cdktf, YAML or zod module", () => {
    for (const flag of ["--version", "--help"]) {
      const r = runCliResolving([flag]);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toMatch(flag === "--version" ? /^mfpar \d/ : /^mfpar — /);
      expect(
        r.resolved.some((u) => u.endsWith("/dist/cli.js")),
        flag,
      ).toBe(true);
      expect(
        r.resolved.filter((u) => /node_modules|@aws-sdk|vega|cdktf|\/yaml\/|\/zod\//.test(u)),
        flag,
      ).toEqual([]);
      // Nor one of the CLI's own chunks with one of them bundled in.
      expect(withAwsSdk(r.resolved), flag).toEqual([]);
      expect(withPackages(r.resolved, ["vega", "yaml/", "zod/"]), flag).toEqual([]);
      // Nor much of the CLI's own code: the entry, the exit codes and the bundler's helpers (~11 kB). How a
      // command's failure is told (AWS errors explained, 33 kB) is loaded once a command runs.
      const ownBytes = r.resolved
        .filter((u) => u.startsWith("file:") && u.includes("/dist/"))
        .reduce((sum, u) => sum + statSync(fileURLToPath(u)).size, 0);
      expect(ownBytes, flag).toBeLessThan(16_000);
    }
  });
});

describe("exit codes", () => {
  it("mfpar --help prints every code of the one table", async () => {
    const { io, out } = captureIo();
    await main(["--help"], io);
    for (const { code, meaning } of EXIT_CODE_TABLE)
      expect(out.stdout).toContain(`    ${String(code).padEnd(3)}  ${meaning}\n`);
    const codes = Object.values(ExitCode).filter((v) => typeof v === "number");
    expect(EXIT_CODE_TABLE.map((r) => r.code).sort()).toEqual([...codes].sort());
  });

  it("the README shows the same table", () => {
    const readme = readFileSync(join(repoRoot, "README.md"), "utf8");
    const block = /<!-- exit-codes:start -->\n([\s\S]*?)<!-- exit-codes:end -->/.exec(readme)?.[1];
    expect(block).toBe(
      [
        "| code | meaning |",
        "| ---: | --- |",
        ...EXIT_CODE_TABLE.map(({ code, meaning }) => `| ${code} | ${meaning} |`),
        "",
      ].join("\n"),
    );
  });
});
