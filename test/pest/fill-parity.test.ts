// `mfpar template check --par` shows the file a realization writes, byte for byte: the real agent bundle run
// as a process and the CLI, on the same template and .par (wide spaces, negative zero, no final newline).
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { ExitCode } from "../../lib/exit-codes.js";
import type { CliIo } from "../../scripts/cli/command.js";
import { main } from "../../scripts/cli/main.js";
import { ensureBuilt, makeFakeProject, runAgentProcess } from "../agent/fixtures.js";
import { tempDir } from "../support/tmp.js";

// Spaces of 12, 30, 10 and 5 characters.
const TEMPLATE = `ptf ~\nK ~    k     ~\nwide ~k${" ".repeat(27)}~\nnegzero ~z       ~\nlast ~k  ~`;
// PEST++'s text: no PRECIS cap (30 characters of 0.1), -0 keeps its sign, the last line gets its newline.
const FILLED = "K 0.1000000000\nwide 0.1000000000000000055511151231\nnegzero -0.000e+00\nlast 0.100\n";

beforeAll(ensureBuilt, 120_000);

describe("template check and the agent write the same file", () => {
  it("byte for byte, as PEST++ would, with no PRECIS cap", async () => {
    const dir = tempDir("mfpar-parity-");
    const proj = join(dir, "proj");
    const scenario = await makeFakeProject(proj, { ids: "1" });
    await writeFile(join(proj, "model", "in.tpl"), TEMPLATE);
    await writeFile(join(proj, "params", "param1.par"), "double point\nk 0.1 1.0 0.0\nz -0.0 1.0 0.0\n");

    const work = join(dir, "work");
    const r = await runAgentProcess({
      MFPAR_IDS: "1",
      MFPAR_SCENARIO_FILE: scenario,
      MFPAR_STORE: join(dir, "store"),
      MFPAR_WORK_DIR: work,
      MFPAR_KEEP_WORKSPACE: "1",
    });
    expect(r.code, r.stderr).toBe(0);
    const [ws] = (await readdir(work)).filter((d) => d.startsWith("mfpar-base-1-"));
    const agentBytes = await readFile(join(work, ws!, "model", "in.dat"));

    let stdout = "";
    const io: CliIo = {
      stdout: (t) => {
        stdout += t;
      },
      stderr: () => {},
      env: {},
      cwd: proj,
      isTTY: false,
    };
    const code = await main(
      ["template", "check", "model/in.tpl", "--par", "params/param1.par", "--out", "check.dat"],
      io,
    );
    expect(code, stdout).toBe(ExitCode.Success);
    const checkBytes = await readFile(join(proj, "check.dat"));

    expect(checkBytes.equals(agentBytes)).toBe(true);
    expect(agentBytes.toString("latin1")).toBe(FILLED);

    // PEST's PRECIS cap only when asked for: double -> at most 23 characters a number.
    stdout = "";
    expect(
      await main(["template", "check", "model/in.tpl", "--par", "params/param1.par", "--precis"], io),
    ).toBe(ExitCode.Success);
    expect(stdout).toBe(FILLED.replace("0.1000000000000000055511151231", "       0.100000000000000005551"));
  });
});
