// Time as the code that waits sees it: passed in, so tests control it.

/** Milliseconds since some fixed origin (Date.now, performance.now, or a test's fake clock). */
export type Clock = () => number;
export type Sleep = (ms: number) => Promise<void>;

export const realSleep: Sleep = (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
