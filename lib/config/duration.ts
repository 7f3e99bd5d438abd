import { z } from "zod";

const DURATION = /^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m(?!s))?(?:(\d+(?:\.\d+)?)s)?(?:(\d+)ms)?$/;

/** Parses `12h`, `10m`, `90s`, `1h30m`, `500ms` (or a number of seconds) to milliseconds; undefined if invalid. */
export function parseDuration(value: string | number): number | undefined {
  if (typeof value === "number") return Number.isFinite(value) && value > 0 ? value * 1000 : undefined;
  const m = DURATION.exec(value.trim());
  if (!m || value.trim() === "") return undefined;
  const [, h, min, s, ms] = m;
  const total =
    Number(h ?? 0) * 3_600_000 + Number(min ?? 0) * 60_000 + Number(s ?? 0) * 1000 + Number(ms ?? 0);
  return total > 0 ? total : undefined;
}

/** A duration in config: `12h`, `30m`, `90s`, `1h30m`, or a number of seconds. Parsed to milliseconds. */
export const durationSchema = z
  .union([z.number(), z.string()])
  .transform((v, ctx) => {
    const ms = parseDuration(v);
    if (ms === undefined) {
      ctx.addIssue({
        code: "custom",
        message: `expected a duration such as "12h", "30m", "90s" or "1h30m" (or a number of seconds), found ${JSON.stringify(v)}`,
      });
      return z.NEVER;
    }
    return ms;
  })
  .meta({ description: 'A duration: "12h", "30m", "90s", "1h30m", or a number of seconds.' });
