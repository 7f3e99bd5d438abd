// Mutations that prove a story executes what it claims to: `exit 3` at the top of the first unconditional
// `run:` step of a workflow (in file order) must make that workflow's story fail.
import { isMap, isSeq, parseDocument } from "yaml";

/** The workflow text with `exit <code>` as the first line of its first `run:` step without `if:`. */
export function exitAtFirstRunStep(text: string, code = 3): { text: string; job: string; step: number } {
  const doc = parseDocument(text);
  const jobs = doc.get("jobs");
  if (!isMap(jobs)) throw new Error("no jobs");
  for (const pair of jobs.items) {
    const job = pair.value;
    if (!isMap(job)) continue;
    const steps = job.get("steps");
    if (!isSeq(steps)) continue;
    for (let i = 0; i < steps.items.length; i++) {
      const step = steps.items[i];
      if (!isMap(step) || !step.has("run") || step.has("if")) continue;
      step.set("run", `exit ${code}\n${String(step.get("run"))}`);
      return {
        text: doc.toString({ lineWidth: 0 }),
        job: String((pair.key as { value?: unknown })?.value ?? pair.key),
        step: i + 1,
      };
    }
  }
  throw new Error("no unconditional run: step");
}
