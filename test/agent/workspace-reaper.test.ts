// lib/agent/workspace.ts's WorkspaceReaper: a persistent worker's workspaces deleted in the background.
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WorkspaceReaper } from "../../lib/agent/workspace.js";

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "mfpar-reaper-"));
});
afterAll(() => rm(tmp, { recursive: true, force: true }));

async function workspace(name: string): Promise<string> {
  const dir = join(tmp, name);
  await mkdir(join(dir, "model", "out"), { recursive: true });
  await writeFile(join(dir, "model", "out", "heads.txt"), "1 2 3\n");
  return dir;
}

describe("WorkspaceReaper", () => {
  it("deletes in the background, one at a time; drain resolves once every workspace is gone", async () => {
    const reaper = new WorkspaceReaper();
    const dirs = await Promise.all(["a", "b", "c"].map(workspace));
    for (const d of dirs) reaper.add(d);
    // Queued, not deleted yet: add() does not wait.
    expect(dirs.filter(existsSync)).toEqual(dirs);
    await reaper.drain();
    expect(dirs.filter(existsSync)).toEqual([]);
  });

  it("ready() holds the next realization back while more than maxPending deletions are queued", async () => {
    const started: string[] = [];
    const release: Array<() => void> = [];
    const reaper = new WorkspaceReaper(1, (dir) => {
      started.push(dir);
      return new Promise<void>((r) => release.push(r));
    });
    reaper.add("w1");
    reaper.add("w2");
    let ready = false;
    const r = reaper.ready().then(() => (ready = true));
    await new Promise((res) => setTimeout(res, 20));
    // One deletion at a time: w2's has not started; two queued > maxPending 1, so ready() waits.
    expect(started).toEqual(["w1"]);
    expect(ready).toBe(false);
    release.shift()!();
    await r;
    expect(ready).toBe(true);
    await new Promise((res) => setTimeout(res, 0));
    expect(started).toEqual(["w1", "w2"]);
    release.shift()!();
    await reaper.drain();
  });

  it("a deletion that fails leaves the workspace behind and does not stop the next ones", async () => {
    const reaper = new WorkspaceReaper(2, async (dir) => {
      if (dir.endsWith("bad")) throw new Error("EBUSY");
      await rm(dir, { recursive: true, force: true });
    });
    const ok = await workspace("ok");
    reaper.add(join(tmp, "bad"));
    reaper.add(ok);
    await reaper.drain();
    expect(existsSync(ok)).toBe(false);
  });
});
