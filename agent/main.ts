// The agent's entry (bundled to dist/agent/agent.js; the agent itself is agent/start.ts, loaded from here).
// A local worker of `mfpar run` (MFPAR_WORKER=ipc) first turns on Node's compile cache (Node >= 22.1): V8's code
// for the modules it loads is kept on disk (in os.tmpdir()/node-compile-cache, or $NODE_COMPILE_CACHE) and
// reused by the next worker, which then starts faster. It has to be on before those modules load, hence this
// file. Node 20 has no such function: nothing happens; a cache that cannot be written is skipped silently. An
// ECS task (a fresh container each time) would never reuse the cache, so it does not write one.
import module from "node:module";

if (process.env.MFPAR_WORKER === "ipc")
  (module as { enableCompileCache?: () => unknown }).enableCompileCache?.();
await import("./start.js");
