// Time as the code that reads it or waits on it sees it: one Clock, passed in, so tests control it.

/**
 * Where code reads the time and waits: `now()` in milliseconds since the epoch, `sleep(ms)` to wait. Code that
 * reads or waits takes a `clock` (default {@link systemClock}); tests pass a {@link virtualClock}.
 */
export interface Clock {
  /** Milliseconds since the epoch (as `Date.now()`). */
  now(): number;
  /** Resolves after `ms` milliseconds (at once for a negative `ms`). */
  sleep(ms: number): Promise<void>;
}

/** Wall-clock time and real waits. */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms))),
};

export interface VirtualClock extends Clock {
  /** Moves the clock forward without anyone sleeping. */
  advance(ms: number): void;
  /** Each sleep asked for, in order. */
  readonly sleeps: number[];
}

/**
 * A virtual clock for tests and simulations, starting at `start` (milliseconds or a Date): `sleep` advances it
 * instead of waiting, so code that paces itself (token buckets, retries with backoff, polling) runs at once and
 * reports virtual time. `onSleep` runs after each sleep: the world moving on while the code waits.
 */
export function virtualClock(
  start: number | Date = 0,
  onSleep?: (ms: number) => void | Promise<void>,
): VirtualClock {
  let t = typeof start === "number" ? start : start.getTime();
  const sleeps: number[] = [];
  return {
    now: () => t,
    sleep: async (ms: number) => {
      sleeps.push(ms);
      t += Math.max(0, ms);
      await onSleep?.(ms);
    },
    advance: (ms: number) => {
      t += ms;
    },
    sleeps,
  };
}

/** The clock's time as an ISO 8601 string (what records and markers store). */
export function isoNow(clock: Clock = systemClock): string {
  return new Date(clock.now()).toISOString();
}
