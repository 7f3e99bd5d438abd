import type { Command } from "../command.js";
import { aggregate } from "./aggregate.js";
import { calibrate } from "./calibrate.js";
import { closeout } from "./closeout.js";
import { instructionsCheck } from "./instructions-check.js";
import { launch } from "./launch.js";
import { outputsInspect } from "./outputs-inspect.js";
import { plan } from "./plan.js";
import { run } from "./run.js";
import { status } from "./status.js";
import { templateCheck } from "./template-check.js";
import { validate } from "./validate.js";

// Every command, in the order `mfpar --help` lists them. Each lives in its own file beside this one.
export const commands: Command[] = [
  validate,
  run,
  status,
  aggregate,
  launch,
  calibrate,
  plan,
  closeout,
  templateCheck,
  instructionsCheck,
  outputsInspect,
];
