// Shared per-file setup, run before each test file. Suites that need cdktf's Jest matchers import
// test/cdktf-setup.ts themselves, so the (heavy) cdktf package is only loaded where it is used.
//
// Test files share their worker process (vitest.config.ts: isolate: false — each file loading the code again
// cost ~35 s of the suite), so what a file changes in the process is put back after it: the environment, the
// working folder, timers and stubs. A file that mocks an AWS client restores it in its own afterAll.
import { afterAll, vi } from "vitest";
import { installSpawnProxy } from "../testing/spawn-proxy.js";

// The worker's spawnSync calls run in a small process: each fork of this large one costs it a page fault per page
// it writes afterwards (testing/spawn-proxy.ts). Once per worker; MFPAR_SPAWN_PROXY=0 turns it off.
installSpawnProxy();

const env = { ...process.env };
const cwd = process.cwd();
const exitCode = process.exitCode;
afterAll(() => {
  process.exitCode = exitCode;
  for (const k of Object.keys(process.env)) if (!(k in env)) delete process.env[k];
  for (const [k, v] of Object.entries(env)) if (process.env[k] !== v) process.env[k] = v;
  if (process.cwd() !== cwd) process.chdir(cwd);
  vi.useRealTimers();
  vi.unstubAllEnvs();
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

process.env.MFPAR_LOG_LEVEL ??= "silent";
// The AWS SDK warns on every client in every worker that Node 20 support ends in 2027; the project supports
// Node 20 and 24 on purpose (DEVELOPERS.md), so the warning is noise in test output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
