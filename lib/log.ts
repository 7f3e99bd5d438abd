/**
 * Structured logging: one JSON object per line, so CloudWatch Logs Insights can filter on fields
 * (`fields id, step, elapsedMs | filter level = "error"`). Locally the CLI prints human text instead and
 * keeps these for the agent's log file.
 */
import { type Clock, isoNow, systemClock } from "./time.js";

export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";
const order: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every line. */
  child(fields: LogFields): Logger;
}

export interface LoggerOptions {
  level?: LogLevel;
  /** Where lines go; defaults to process.stderr. */
  write?: (line: string) => void;
  clock?: Clock;
  fields?: LogFields;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const level = opts.level ?? ((process.env.MFPAR_LOG_LEVEL as LogLevel | undefined) || "info");
  const write = opts.write ?? ((line: string) => process.stderr.write(line + "\n"));
  const clock = opts.clock ?? systemClock;
  const base = opts.fields ?? {};
  const emit = (lvl: LogLevel, msg: string, fields?: LogFields) => {
    if (order[lvl] < order[level]) return;
    write(JSON.stringify({ time: isoNow(clock), level: lvl, msg, ...base, ...fields }));
  };
  return {
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
    child: (fields) => createLogger({ level, write, clock, fields: { ...base, ...fields } }),
  };
}
