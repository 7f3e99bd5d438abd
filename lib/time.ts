// Time as the code that waits sees it: passed in, so tests control it.

/** Milliseconds since some fixed origin (Date.now, performance.now, or a test's fake clock). */
export type Clock = () => number;
export type Sleep = (ms: number) => Promise<void>;

export const realSleep: Sleep = (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

/** A clock and the sleep that goes with it, as code that paces itself takes them. */
export interface Time {
  now: Clock;
  sleep: Sleep;
}

/** Wall-clock time. */
export const systemTime: Time = { now: Date.now, sleep: realSleep };

/**
 * A virtual clock for tests and simulations: `sleep` advances it instead of waiting, so code that paces itself
 * (token buckets, retries with backoff, polling) runs at once and reports virtual time. `sleeps` records each
 * sleep asked for.
 */
export function virtualTime(start = 0): Time & { advance(ms: number): void; sleeps: number[] } {
  let t = start;
  const sleeps: number[] = [];
  return {
    now: () => t,
    sleep: async (ms: number) => {
      sleeps.push(ms);
      t += Math.max(0, ms);
    },
    advance: (ms: number) => {
      t += ms;
    },
    sleeps,
  };
}
