import { createLogger } from "vite";
import { defineConfig } from "vitest/config";
import LongFirst from "./test/sequencer.js";

// Inlining @actions/workflow-parser (below) makes vite warn about each of its files' sourcemaps, which point
// to sources the package does not ship; nothing else is filtered.
const logger = createLogger();
const warn = logger.warn;
logger.warn = (msg, opts) => {
  if (msg.startsWith("Sourcemap for ") && msg.includes("@actions/workflow-parser")) return;
  warn(msg, opts);
};

export default defineConfig({
  customLogger: logger,
  test: {
    // @actions/workflow-parser imports its JSON schema without an import attribute: vite must transform it.
    server: { deps: { inline: ["@actions/workflow-parser"] } },
    include: ["test/**/*.test.ts", "cdktf/**/*.test.ts"],
    setupFiles: ["test/setup.ts"],
    globalSetup: ["test/global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Two cores here and on CI: process-heavy suites (agent, simulator, s3rver) must not starve each other.
    maxWorkers: 2,
    fileParallelism: true,
    // Files share their worker process: each loading the code again cost ~35 s of the suite. test/setup.ts puts
    // back what a file changes in the process (environment, folder, timers, stubs); AWS client mocks are
    // restored by the file that makes them.
    isolate: false,
    sequence: { sequencer: LongFirst },
    // Transformed modules kept on disk between runs (node_modules/.experimental-vitest-cache, keyed by each
    // file's content): a warm run skips ~4 s of transforms per 60 files (test/config, pest, status and batch:
    // transform 3.8-5.9 s cold, 0.85 s warm; CPU 20.3 -> 17.0 s).
    experimental: { fsModuleCache: true },
  },
});
