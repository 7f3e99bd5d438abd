// A fake @actions/core for an action's run() (the slice actions/shared/inputs.ts names, plus open-batches'
// notice and warning): inputs from a record, and everything the action set, logged, wrote or failed with.
import type { ActionCore } from "../../actions/shared/inputs.js";

export function fakeCore(inputs: Record<string, string>) {
  const outputs: Record<string, unknown> = {};
  const summary: string[] = [];
  const log: string[] = [];
  const notices: string[] = [];
  const warnings: string[] = [];
  const failures: string[] = [];
  const core: ActionCore & { notice(m: string): void; warning(m: string): void } = {
    getInput: (name, opts) => {
      const v = inputs[name] ?? "";
      if (opts?.required && !v) throw new Error(`Input required and not supplied: ${name}`);
      return v;
    },
    setOutput: (n, v) => {
      outputs[n] = v;
    },
    setFailed: (m) => {
      failures.push(m);
    },
    info: (m) => log.push(m),
    notice: (m) => notices.push(m),
    warning: (m) => warnings.push(m),
    summary: {
      addRaw: (t) => {
        summary.push(t);
        return { write: async () => undefined };
      },
    },
  };
  /** `failed()`: the last setFailed message (undefined when the action did not fail). */
  return { core, outputs, summary, log, notices, warnings, failures, failed: () => failures.at(-1) };
}
