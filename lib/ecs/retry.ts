import type { Clock } from "../time.js";

export interface BackoffOptions {
  /** First retry's ceiling, ms. */
  baseMs: number;
  /** Largest ceiling, ms. */
  capMs: number;
  /** Retries after the first try. */
  maxRetries: number;
  /** [0, 1) — injected so tests are deterministic. */
  random?: () => number;
  /** What waits between tries (only its `sleep` is used). */
  clock: Pick<Clock, "sleep">;
}

export const DEFAULT_BACKOFF = { baseMs: 100, capMs: 10_000, maxRetries: 8 } as const;

/**
 * "Full jitter" backoff (https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/): the n-th
 * retry sleeps a uniform random time in [0, min(cap, base·2^n)), which spreads retrying clients apart.
 */
export function fullJitterDelay(
  retry: number,
  opts: Pick<BackoffOptions, "baseMs" | "capMs" | "random">,
): number {
  const ceiling = Math.min(opts.capMs, opts.baseMs * 2 ** retry);
  return Math.floor((opts.random ?? Math.random)() * ceiling);
}

export type ErrorClass = "throttled" | "server" | "network" | "fatal";

/** Sorts an AWS SDK error into what a retry loop needs to know. */
export function classifyError(e: unknown): ErrorClass {
  const err = e as {
    name?: string;
    code?: string;
    $metadata?: { httpStatusCode?: number };
    $retryable?: { throttling?: boolean };
    $fault?: string;
  };
  const name = err?.name ?? "";
  if (
    name === "ThrottlingException" ||
    name === "Throttling" ||
    name === "TooManyRequestsException" ||
    name === "RequestLimitExceeded" ||
    err?.$retryable?.throttling
  )
    return "throttled";
  const status = err?.$metadata?.httpStatusCode;
  if (status !== undefined && status >= 500) return "server";
  if (name === "ServerException" || name === "InternalFailure" || name === "ServiceUnavailable")
    return "server";
  const code = err?.code ?? "";
  if (
    ["ECONNRESET", "ECONNREFUSED", "EPIPE", "ETIMEDOUT", "ENOTFOUND", "EAI_AGAIN", "ECONNABORTED"].includes(
      code,
    ) ||
    name === "TimeoutError" ||
    name === "RequestTimeout" ||
    /socket hang up|ECONNRESET|network|premature close|aborted/i.test(String((e as Error)?.message ?? ""))
  )
    return "network";
  return "fatal";
}

export interface RetryEvent {
  retry: number;
  kind: ErrorClass;
  delayMs: number;
  error: unknown;
}

/**
 * Calls `fn` until it resolves, retrying throttling, 5xx and network errors with full-jitter backoff. Other
 * errors, and the last retryable one, are thrown. `onRetry` sees every retry (for counters and logs).
 */
export async function withRetry<T>(
  fn: (tryNumber: number) => Promise<T>,
  opts: BackoffOptions & { onRetry?: (ev: RetryEvent) => void },
): Promise<T> {
  for (let retry = 0; ; retry++) {
    try {
      return await fn(retry);
    } catch (e) {
      const kind = classifyError(e);
      if (kind === "fatal" || retry >= opts.maxRetries) throw e;
      const delayMs = fullJitterDelay(retry, opts);
      opts.onRetry?.({ retry: retry + 1, kind, delayMs, error: e });
      await opts.clock.sleep(delayMs);
    }
  }
}
