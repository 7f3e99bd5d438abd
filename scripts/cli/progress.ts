// The live progress line of long commands (`mfpar run`, `mfpar launch`): on a terminal one line redrawn in
// place; in CI logs a plain line now and then. What the line says is the command's (lib/ renders it).
import { type Clock, systemClock } from "../../lib/time.js";

export interface ProgressOutput {
  write: (text: string) => void;
  isTTY: boolean;
}

/**
 * A live progress display: on a terminal one line redrawn in place (at most every 100 ms, and every second
 * for the clock); otherwise a plain line every `plainEveryMs` (and at the end), for CI logs.
 */
export function createProgressDisplay<P>(
  out: ProgressOutput,
  line: (progress: P, now: number) => string,
  opts: { clock?: Clock; plainEveryMs?: number } = {},
) {
  const clock = opts.clock ?? systemClock;
  const now = () => clock.now();
  const plainEvery = opts.plainEveryMs ?? 10_000;
  let last: P | undefined;
  let lastDraw = 0;
  let drawn = false;
  const draw = () => {
    if (last === undefined) return;
    lastDraw = now();
    if (out.isTTY) {
      out.write(`\r\x1b[2K${line(last, lastDraw)}`);
      drawn = true;
    } else out.write(`${line(last, lastDraw)}\n`);
  };
  const timer = setInterval(
    () => {
      if (out.isTTY || now() - lastDraw >= plainEvery) draw();
    },
    out.isTTY ? 1000 : Math.min(plainEvery, 1000),
  );
  timer.unref();
  return {
    update(p: P) {
      last = p;
      if (out.isTTY && now() - lastDraw >= 100) draw();
    },
    /** Prints a line above the bar (e.g. a failure as it happens). */
    note(text: string) {
      if (out.isTTY && drawn) out.write("\r\x1b[2K");
      out.write(`${text}\n`);
      if (out.isTTY) draw();
    },
    finish() {
      clearInterval(timer);
      draw();
      if (out.isTTY && drawn) out.write("\n");
    },
  };
}
