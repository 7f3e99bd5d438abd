// lib/process/supervisor: real processes in their own groups; and the PANTHER start order with the stand-ins.
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { groupAlive, Supervisor, type SupervisorEvent } from "../../lib/process/supervisor.js";
import { tempDir } from "../support/tmp.js";
import { waitFor } from "../support/wait.js";
import { alive, freePort, standinEnv } from "./support.js";

const tmp = tempDir("mfpar-supervisor-");
const node = process.execPath;

describe("Supervisor", () => {
  it("stops a process and what it started (its process group), SIGTERM first", async () => {
    const pidFile = join(tmp, "grandchild.pid");
    // The child starts a grandchild that ignores nothing and would outlive a plain kill of the child.
    const script = `const c=require("child_process").spawn(process.execPath,["-e","setInterval(()=>{},1000)"],{stdio:"ignore"});require("fs").writeFileSync(${JSON.stringify(pidFile)},String(c.pid));setInterval(()=>{},1000);`;
    const sup = new Supervisor();
    const p = sup.start({ name: "tree", argv: [node, "-e", script], cwd: tmp });
    const leader = p.pid!;
    await waitFor("the grandchild", () => existsSync(pidFile));
    const grandchild = Number(await readFile(pidFile, "utf8"));
    expect(alive(grandchild)).toBe(true);
    const exit = await p.stop(2000);
    expect(exit.signal).toBe("SIGTERM");
    await waitFor("the grandchild to go", () => !alive(grandchild));
    expect(groupAlive(leader)).toBe(false);
    expect(p.state).toBe("stopped");
  });

  it("kills what a process left in its group when it exits on its own", async () => {
    const pidFile = join(tmp, "left.pid");
    const script = `const c=require("child_process").spawn(process.execPath,["-e","setInterval(()=>{},1000)"],{stdio:"ignore"});require("fs").writeFileSync(${JSON.stringify(pidFile)},String(c.pid));c.unref();`;
    const sup = new Supervisor();
    const p = sup.start({ name: "leaver", argv: [node, "-e", script], cwd: tmp });
    const exit = await p.done;
    expect(exit.code).toBe(0);
    const left = Number(await readFile(pidFile, "utf8"));
    await waitFor("the leftover process to go", () => !alive(left));
  });

  it("restarts by policy with backoff, then gives up; a stop cancels a pending restart", async () => {
    const events: SupervisorEvent[] = [];
    const delays: number[] = [];
    const sup = new Supervisor({
      onEvent: (e) => events.push(e),
      setTimeout: (fn, ms) => {
        delays.push(ms);
        return setTimeout(fn, 0);
      },
    });
    const p = sup.start({
      name: "flaky",
      argv: [node, "-e", "process.exit(3)"],
      cwd: tmp,
      restart: { maxRestarts: 2 },
    });
    const exit = await p.done;
    expect(exit.code).toBe(3);
    expect(p.restarts).toBe(2);
    expect(delays).toEqual([1000, 2000]);
    expect(events.map((e) => e.type)).toEqual(["start", "exit", "start", "exit", "start", "exit", "give-up"]);

    const held: (() => void)[] = [];
    const sup2 = new Supervisor({ setTimeout: (fn) => held.push(fn), clearTimeout: () => held.splice(0) });
    const q = sup2.start({
      name: "q",
      argv: [node, "-e", "process.exit(1)"],
      cwd: tmp,
      restart: { maxRestarts: 5 },
    });
    await waitFor("the restart to be scheduled", () => q.state === "waiting-restart");
    await q.stop();
    expect(q.state).toBe("stopped");
    expect(held).toEqual([]);
    expect(q.restarts).toBe(0);
  });

  it("reports a command that cannot start, without restarting it", async () => {
    const events: SupervisorEvent[] = [];
    const sup = new Supervisor({ onEvent: (e) => events.push(e) });
    const p = sup.start({
      name: "nope",
      argv: ["/nonexistent/pestpp-glm"],
      cwd: tmp,
      restart: { maxRestarts: 3 },
    });
    const exit = await p.done;
    expect(exit.spawnError?.code).toBe("ENOENT");
    expect(p.restarts).toBe(0);
    expect(events.map((e) => e.type)).toEqual(["exit"]);
  });
});

describe("PANTHER start order (stand-ins over real TCP)", () => {
  it("an agent started before the master listens retries until it connects, then ends on TERMINATE", async () => {
    const cwd = join(tmp, "order");
    const port = await freePort();
    const env = standinEnv(cwd, "pestpp-glm", { MFPAR_STANDIN_START_DELAY_MS: "400" });
    for (const d of ["master", "agent"]) {
      await mkdir(join(cwd, d), { recursive: true });
      await writeFile(join(cwd, d, "case.pst"), "pcf\n++panther_poll_interval(0.05)\n");
    }
    const sup = new Supervisor();
    const agent = sup.start({
      name: "agent",
      argv: [join(cwd, "bin", "pestpp-glm"), "case.pst", "/h", `127.0.0.1:${port}`],
      cwd: join(cwd, "agent"),
      env,
      logFile: join(cwd, "agent.log"),
    });
    await new Promise((r) => setTimeout(r, 150));
    const master = sup.start({
      name: "master",
      argv: [join(cwd, "bin", "pestpp-glm"), "case.pst", "/h", `:${port}`],
      cwd: join(cwd, "master"),
      env,
      logFile: join(cwd, "master.log"),
    });
    expect((await master.done).code).toBe(0);
    expect((await agent.done).code).toBe(0);
    const log = await readFile(join(cwd, "agent.log"), "utf8");
    expect(log).toContain("PANTHER Agent will poll for master connection every 0.05 seconds");
    expect(log).toContain(`connection to master succeeded on socket: 127.0.0.1:${port}`);
    expect(log).toContain("Work Done...");
    // The master saw the agent's RUNDIR answer (a real frame) and replayed the whole run.
    const rmr = await readFile(join(cwd, "master", "case.rmr"), "utf8");
    expect(rmr).toContain(`new agent ready:localhost$${join(cwd, "agent")}`);
    expect(rmr).toContain("   7 runs complete :  0 runs failed");
  });
});
