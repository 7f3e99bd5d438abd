import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // @actions/workflow-parser imports its JSON schema without an import attribute: vite must transform it.
    server: { deps: { inline: ["@actions/workflow-parser"] } },
    include: ["test/**/*.test.ts", "cdktf/**/*.test.ts"],
    setupFiles: ["test/setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Two cores here and on CI: process-heavy suites (agent, simulator, s3rver) must not starve each other.
    maxWorkers: 2,
    fileParallelism: true,
  },
});
