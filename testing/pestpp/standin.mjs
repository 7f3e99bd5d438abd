#!/usr/bin/env node
// A stand-in for a PEST++ program (pestpp-glm, pestpp-ies, ...) with the same command line:
//
//   master:  <exe> case.pst /h :PORT        agent:  <exe> case.pst /h HOST:PORT
//
// The master REPLAYS a real recorded run (MFPAR_STANDIN_RUN = a `master/` folder of
// test/fixtures/real/pestpp-runs/<engine>/): it listens on the port (IPv4, all interfaces, as PEST++ does), waits
// for an agent, then writes the recorded `.rmr` lines in order and, as the runs of an iteration complete, that
// iteration's files (rows of the per-iteration CSVs, `case.<i>.*`), the rest at the end; file names follow the
// control file's name as PEST++'s do. It ends by sending TERMINATE (a real PANTHER frame) to every agent.
// Agents connect over real TCP (retrying every `++panther_poll_interval` seconds until the master listens),
// answer REQ_RUNDIR, and exit 0 on TERMINATE, -1 when the master goes away without it.
//
// Test knobs (environment): MFPAR_STANDIN_STEP_MS (delay per .rmr line, default 2), MFPAR_STANDIN_START_DELAY_MS
// (master: wait before listening), MFPAR_STANDIN_MASTER_EXIT_AFTER_LINES (master: exit 1 after writing this many
// .rmr lines; with MFPAR_STANDIN_MASTER_EXIT_ONCE=<file>, only while that file does not exist: it is written when
// the master exits, so a restarted master goes on), MFPAR_STANDIN_MASTER_HOLD (master: before its last files and
// TERMINATE, wait until this file exists — a test holds a calibration mid-run), MFPAR_STANDIN_AGENT_DIE_MS (agent: exit 1 this long after connecting, once per agent folder),
// MFPAR_STANDIN_LOG (append one line per start: "<role> <pid> <cwd> <args>"), MFPAR_STANDIN_EXE (the name shown).
import { appendFileSync, existsSync, readdirSync, readFileSync, utimesSync, writeFileSync } from "node:fs";
import { connect, createServer } from "node:net";
import { basename, join } from "node:path";
import { encode, FrameReader, Pack } from "./panther.mjs";

const exe = process.env.MFPAR_STANDIN_EXE ?? basename(process.argv[1] ?? "pestpp");
const args = process.argv.slice(2);
const restart = args.some((a) => a.toLowerCase() === "/r");
const rest = args.filter((a) => !["/r", "/j"].includes(a.toLowerCase()));
console.log(`...processing command line: ' ${[exe, ...args].join(" ")}'`);
if (rest.length !== 3 || rest[1].toLowerCase() !== "/h" || !rest[2].includes(":")) {
  console.error("stand-in: expected <case.pst> /h :PORT (master) or <case.pst> /h HOST:PORT (agent)");
  process.exit(1);
}
const [pst, , where] = rest;
if (!existsSync(pst)) {
  console.error(`error: could not open control file "${pst}"`);
  process.exit(1);
}
const base = pst.replace(/\.pst$/i, "");
const pstText = readFileSync(pst, "utf8");
const option = (name) => new RegExp(`\\+\\+${name}\\(([^)]*)\\)`, "i").exec(pstText)?.[1];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
if (process.env.MFPAR_STANDIN_LOG)
  appendFileSync(
    process.env.MFPAR_STANDIN_LOG,
    `${where.startsWith(":") ? "master" : "agent"} ${process.pid} ${process.cwd()} ${args.join(" ")}\n`,
  );

if (where.startsWith(":")) await master(Number(where.slice(1)));
else await agent(where.slice(0, where.lastIndexOf(":")), Number(where.slice(where.lastIndexOf(":") + 1)));

async function master(port) {
  const run = process.env.MFPAR_STANDIN_RUN;
  if (!run || !existsSync(join(run, "case.rmr"))) {
    console.error("stand-in master: MFPAR_STANDIN_RUN must name a recorded master/ folder");
    process.exit(1);
  }
  const step = Number(process.env.MFPAR_STANDIN_STEP_MS ?? 2);
  const out = (ext) => `${base}.${ext}`;
  const recorded = readdirSync(run).filter((f) => f.startsWith("case.") && !f.endsWith(".pst"));

  // Iterations: a row of the iteration table is released once this many runs have completed.
  const table = existsSync(join(run, "case.iobj")) ? "case.iobj" : "case.phi.actual.csv";
  const tableRows = readFileSync(join(run, table), "utf8").trim().split("\n").slice(1);
  const runsAt = tableRows.map((r) => Math.max(1, Number(r.split(",")[1])));
  const rowFiles = recorded.filter((f) => {
    if (!/\.(csv|iobj|ipar|isen)$/.test(f) || /^case\.\d+\./.test(f)) return false;
    return readFileSync(join(run, f), "utf8").startsWith("iteration,");
  });
  const iterOf = (f) => {
    // pestpp-ies writes its noise and weight ensembles before the first runs.
    if (/^case\.(obs\+noise|weights)\.csv$/.test(f)) return 0;
    const m = /^case\.(\d+)\./.exec(f) ?? /^case\.rei(\d+)$/.exec(f);
    return m ? Number(m[1]) : undefined;
  };
  // A restarted pestpp-ies numbers its iterations from 0 again (0 = the restart ensemble, no runs).
  let shift = 0;
  let runsBefore = 0;
  const releasedFiles = new Set();
  const release = (upto) => {
    for (const f of rowFiles) {
      const lines = readFileSync(join(run, f), "utf8").split("\n");
      const header = lines[0];
      const runsCol = /^iteration,(total_runs|model_runs_completed),/.test(header);
      const keep = lines
        .slice(1)
        .filter((l) => l && Number(l.split(",")[0]) >= shift && Number(l.split(",")[0]) <= upto)
        .map((l) => {
          const c = l.split(",");
          c[0] = String(Number(c[0]) - shift);
          if (runsCol) c[1] = String(Number(c[1]) - runsBefore);
          return c.join(",");
        });
      writeFileSync(out(f.slice(5)), [header, ...keep].join("\n") + "\n");
    }
    for (const f of recorded) {
      const i = iterOf(f);
      if (i === undefined || i < shift || i > upto || releasedFiles.has(f)) continue;
      releasedFiles.add(f);
      const name = f
        .slice(5)
        .replace(/^(\d+)\./, (_, d) => `${Number(d) - shift}.`)
        .replace(/^rei(\d+)$/, (_, d) => `rei${Number(d) - shift}`);
      writeFileSync(out(name), readFileSync(join(run, f)));
    }
    // pestpp-glm rewrites its best parameters and, after the next Jacobian, the .jcb as it goes.
    for (const f of ["case.par", "case.jcb"])
      if (recorded.includes(f)) {
        const t = new Date(Date.now() + (f === "case.jcb" ? 1000 : 0));
        writeFileSync(out(f.slice(5)), readFileSync(join(run, f)));
        utimesSync(out(f.slice(5)), t, t);
      }
  };

  // Resume: pestpp-glm with /r continues from its restart file; pestpp-ies from ++ies_restart_par_en(<case>.<i>.par.csv).
  let doneIter = -1;
  if (restart) {
    if (!existsSync(out("rst"))) {
      console.error(`restart error: error opening rst file '${out("rst")}'`);
      process.exit(1);
    }
    const t = existsSync(out(table.slice(5)))
      ? readFileSync(out(table.slice(5)), "utf8")
          .trim()
          .split("\n")
      : [];
    doneIter = t.length > 1 ? Number(t.at(-1).split(",")[0]) : -1;
  }
  const iesRestart = option("ies_restart_par_en");
  if (iesRestart) {
    const m = /\.(\d+)\.par\.csv$/.exec(iesRestart);
    if (!m || !existsSync(iesRestart)) {
      console.error(`error: ies_restart_par_en file '${iesRestart}' not found`);
      process.exit(1);
    }
    doneIter = Number(m[1]);
    const parEn = option("ies_par_en");
    if (parEn !== undefined && !existsSync(parEn)) {
      console.error(`error: ies_par_en file '${parEn}' not found`);
      process.exit(1);
    }
    shift = doneIter;
  }
  // pestpp-glm with ++base_jacobian(<file>) reads that Jacobian instead of making the first iteration's runs.
  const baseJacobian = option("base_jacobian");
  if (baseJacobian !== undefined && !existsSync(baseJacobian)) {
    console.error(`error: base_jacobian file '${baseJacobian}' not found`);
    process.exit(1);
  }
  if (baseJacobian) console.log(`  reading previously computed jacobian:  ${baseJacobian}`);
  const startRuns = doneIter >= 0 ? runsAt[doneIter] : 0;
  if (doneIter >= 0) console.log(`restarting after iteration ${doneIter} (${startRuns} runs already done)`);
  runsBefore = iesRestart ? startRuns : 0;
  if (!restart) writeFileSync(out("rmr"), "");
  if (!existsSync(out("rst"))) writeFileSync(out("rst"), "restart file (stand-in)\n");

  await sleep(Number(process.env.MFPAR_STANDIN_START_DELAY_MS ?? 0));
  const agents = new Set();
  const server = createServer((sock) => {
    agents.add(sock);
    sock.on("error", () => {});
    sock.on("close", () => agents.delete(sock));
    const reader = new FrameReader();
    sock.on("data", (d) => {
      for (const f of reader.push(d))
        if (f.type === Pack.RUNDIR)
          appendFileSync(out("rmr"), `new agent ready:localhost$${f.data.toString("latin1")}\n`);
    });
    sock.write(encode(Pack.REQ_RUNDIR, { data: Buffer.from([0]) }));
  });
  await new Promise((res) => {
    server.once("error", (e) => {
      console.error(`error: could not bind PANTHER master to port ${port}: ${e.code}`);
      process.exit(1);
    });
    server.listen({ port, host: "0.0.0.0", exclusive: true }, res);
  });
  appendFileSync(out("rmr"), `\nPANTHER master listening on socket:0.0.0.0:${port} (IPv4)\n`);
  console.log(`PANTHER master listening on socket: 0.0.0.0:${port} (IPv4)`);
  while (agents.size === 0) await sleep(10);

  // Replay the recorded .rmr, one line at a time, releasing iterations as their runs complete.
  const rmr = readFileSync(join(run, "case.rmr"), "utf8").split("\n");
  const first = rmr.findIndex((l) => l.startsWith("running model"));
  const once = process.env.MFPAR_STANDIN_MASTER_EXIT_ONCE;
  const dieAfter =
    once && existsSync(once)
      ? Number.POSITIVE_INFINITY
      : Number(process.env.MFPAR_STANDIN_MASTER_EXIT_AFTER_LINES ?? Number.POSITIVE_INFINITY);
  let written = 0;
  let runs = 0;
  let skipGroup = Boolean(baseJacobian);
  let released = doneIter;
  for (const line of rmr.slice(first)) {
    if (skipGroup && /^\s+\d+ runs complete/.test(line)) {
      skipGroup = false;
      continue;
    }
    if (runs >= startRuns && !skipGroup) {
      appendFileSync(out("rmr"), `${line}\n`);
      if (++written >= dieAfter) {
        if (once) writeFileSync(once, `${process.pid}\n`);
        console.error("stand-in master: stopping with an error on purpose");
        process.exit(1);
      }
      if (step) await sleep(step);
    }
    const m = /^\s+(\d+) runs complete/.exec(line);
    if (!m) continue;
    runs += Number(m[1]);
    let upto = released;
    while (upto + 1 < runsAt.length && runsAt[upto + 1] <= runs) upto++;
    if (upto > released) {
      release(upto);
      released = upto;
    }
  }
  const hold = process.env.MFPAR_STANDIN_MASTER_HOLD;
  while (hold && !existsSync(hold)) await sleep(20);
  release(runsAt.length - 1);
  for (const f of recorded)
    if (iterOf(f) === undefined && !rowFiles.includes(f) && f !== "case.rmr" && f !== "case.rst")
      writeFileSync(out(f.slice(5)), readFileSync(join(run, f)));
  for (const s of agents) s.end(encode(Pack.TERMINATE));
  server.close();
  console.log("pestpp: done");
  await sleep(50);
  process.exit(0);
}

async function agent(host, port) {
  const poll = Math.max(0.02, Number(option("panther_poll_interval") ?? option("yamr_poll_interval") ?? 1));
  console.log(`PANTHER Agent will poll for master connection every ${poll} seconds`);
  let sock;
  for (;;) {
    sock = await new Promise((res) => {
      const s = connect({ host, port });
      s.once("connect", () => res(s));
      s.once("error", () => res(undefined));
    });
    if (sock) break;
    await sleep(poll * 1000);
  }
  console.log(`connection to master succeeded on socket: ${host}:${port} (IPv4)`);
  const dieMs = process.env.MFPAR_STANDIN_AGENT_DIE_MS;
  if (dieMs && !existsSync(".standin-died")) {
    setTimeout(() => {
      writeFileSync(".standin-died", `${process.pid}\n`);
      console.error("stand-in agent: dying on purpose");
      process.exit(1);
    }, Number(dieMs));
  }
  const reader = new FrameReader();
  let terminated = false;
  sock.on("data", (d) => {
    for (const f of reader.push(d)) {
      if (f.type === Pack.REQ_RUNDIR) sock.write(encode(Pack.RUNDIR, { data: Buffer.from(process.cwd()) }));
      if (f.type === Pack.TERMINATE) {
        terminated = true;
        console.log("Work Done...");
        process.exit(0);
      }
    }
  });
  sock.on("error", () => {});
  sock.on("close", () => {
    if (terminated) return;
    console.error("lost connection to master");
    process.exit(255);
  });
}
