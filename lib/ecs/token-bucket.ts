import { type Clock, systemClock } from "../time.js";

export interface TokenBucketOptions {
  /** Bucket maximum: how many tokens can be spent at once (AWS's "burst rate"). */
  capacity: number;
  /** Tokens added per second (AWS's "sustained rate"). */
  refillPerSecond: number;
  /** Tokens at creation; default `capacity` (a fresh account bucket is full). */
  initial?: number;
  clock?: Clock;
}

/**
 * A client-side token bucket, the same algorithm AWS uses to throttle ECS and Fargate per account and region
 * (https://docs.aws.amazon.com/AmazonECS/latest/userguide/throttling.html). Sending no faster than the
 * server's own bucket refills means requests are not throttled in the first place, instead of being retried.
 *
 * `take()` reserves tokens first-come first-served: the balance may go negative, and each caller sleeps until
 * its reservation is covered, so N concurrent callers are spaced exactly 1/rate apart after the burst.
 */
export class TokenBucket {
  readonly capacity: number;
  readonly refillPerSecond: number;
  private tokens: number;
  private last: number;
  private readonly clock: Clock;

  constructor(opts: TokenBucketOptions) {
    if (!(opts.capacity > 0) || !(opts.refillPerSecond > 0)) {
      throw new RangeError(
        `TokenBucket: capacity and refillPerSecond must be positive, got ${opts.capacity} and ${opts.refillPerSecond}`,
      );
    }
    this.capacity = opts.capacity;
    this.refillPerSecond = opts.refillPerSecond;
    this.clock = opts.clock ?? systemClock;
    this.tokens = Math.min(opts.initial ?? opts.capacity, opts.capacity);
    this.last = this.clock.now();
  }

  private refill(): void {
    const now = this.clock.now();
    const elapsed = Math.max(0, now - this.last);
    this.last = now;
    this.tokens = Math.min(this.capacity, this.tokens + (elapsed * this.refillPerSecond) / 1000);
  }

  /** Tokens available now (negative while reservations are outstanding). */
  available(): number {
    this.refill();
    return this.tokens;
  }

  /** Takes `n` tokens if they are there now; never waits. */
  tryTake(n = 1): boolean {
    this.refill();
    if (this.tokens < n) return false;
    this.tokens -= n;
    return true;
  }

  /** Reserves `n` tokens and resolves when they are covered; returns the milliseconds waited. */
  async take(n = 1): Promise<number> {
    this.refill();
    this.tokens -= n;
    if (this.tokens >= 0) return 0;
    const wait = Math.ceil((-this.tokens * 1000) / this.refillPerSecond);
    await this.clock.sleep(wait);
    return wait;
  }

  /** Gives back tokens taken for a request the server did not count (e.g. it was throttled). */
  refund(n = 1): void {
    this.refill();
    this.tokens = Math.min(this.capacity, this.tokens + n);
  }
}
