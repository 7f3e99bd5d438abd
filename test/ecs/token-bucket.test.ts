import { describe, expect, it } from "vitest";
import { AWS_ECS_RATE_LIMITS, launchFloorSeconds } from "../../lib/ecs/limits.js";
import { classifyError, fullJitterDelay, withRetry } from "../../lib/ecs/retry.js";
import { TokenBucket } from "../../lib/ecs/token-bucket.js";
import { awsError, fakeTime, socketHangUp } from "./_fake-time.js";

describe("TokenBucket", () => {
  it("spends the burst at once, then paces at the refill rate", async () => {
    const time = fakeTime();
    const b = new TokenBucket({ capacity: 100, refillPerSecond: 20, clock: time });
    for (let i = 0; i < 100; i++) expect(await b.take()).toBe(0);
    expect(time.now()).toBe(0);
    for (let i = 0; i < 200; i++) await b.take();
    // (300 - 100) / 20 = 10 s: AWS's floor for 300 launches.
    expect(time.now()).toBe(10_000);
  });

  it("reserves first-come first-served for concurrent callers: each waits its own share", async () => {
    const time = fakeTime();
    const b = new TokenBucket({
      capacity: 2,
      refillPerSecond: 10,
      clock: { now: time.now, sleep: async () => {} },
    });
    const waits = await Promise.all([b.take(), b.take(), b.take(), b.take(), b.take()]);
    expect(waits).toEqual([0, 0, 100, 200, 300]);
  });

  it("refills up to capacity only, and tryTake never waits", () => {
    const time = fakeTime();
    const b = new TokenBucket({
      capacity: 3,
      refillPerSecond: 1,
      clock: time,
      initial: 0,
    });
    expect(b.tryTake()).toBe(false);
    time.advance(10_000);
    expect(b.available()).toBe(3);
    expect(b.tryTake(3)).toBe(true);
    expect(b.tryTake()).toBe(false);
    b.refund(5);
    expect(b.available()).toBe(3);
  });

  it("rejects a bucket that could never refill", () => {
    expect(() => new TokenBucket({ capacity: 0, refillPerSecond: 1 })).toThrow(/must be positive/);
  });
});

describe("published limits", () => {
  it("floor of 300 single-task RunTask calls is set by the RunTask API bucket (20/s), 14 s", () => {
    expect(launchFloorSeconds(300)).toBe(14);
    expect(
      launchFloorSeconds(300, { ...AWS_ECS_RATE_LIMITS, runTaskApi: { burst: 100, perSecond: 20 } }),
    ).toBe(10);
    expect(launchFloorSeconds(50)).toBe(1.5);
  });
});

describe("full-jitter backoff", () => {
  it("draws uniformly below min(cap, base·2^n)", () => {
    expect(fullJitterDelay(0, { baseMs: 100, capMs: 10_000, random: () => 0.999 })).toBe(99);
    expect(fullJitterDelay(3, { baseMs: 100, capMs: 10_000, random: () => 0.5 })).toBe(400);
    expect(fullJitterDelay(20, { baseMs: 100, capMs: 10_000, random: () => 0.5 })).toBe(5_000);
    expect(fullJitterDelay(5, { baseMs: 100, capMs: 10_000, random: () => 0 })).toBe(0);
  });

  it("classifies throttling, 5xx, network and other errors", () => {
    expect(classifyError(awsError("ThrottlingException", 400))).toBe("throttled");
    expect(classifyError(awsError("ServerException", 500))).toBe("server");
    expect(classifyError(awsError("UnknownError", 503))).toBe("server");
    expect(classifyError(socketHangUp())).toBe("network");
    expect(classifyError(awsError("TimeoutError"))).toBe("network");
    expect(classifyError(awsError("ClientException", 400))).toBe("fatal");
    expect(classifyError(awsError("InvalidParameterException", 400))).toBe("fatal");
  });

  it("retries retryable errors with injected sleeps and gives up after maxRetries", async () => {
    const time = fakeTime();
    const seen: string[] = [];
    let calls = 0;
    const out = await withRetry(
      async () => {
        calls++;
        if (calls === 1) throw awsError("ThrottlingException", 400);
        if (calls === 2) throw awsError("ServerException", 500);
        if (calls === 3) throw socketHangUp();
        return "ok";
      },
      {
        baseMs: 100,
        capMs: 1000,
        maxRetries: 5,
        random: () => 0.5,
        clock: time,
        onRetry: (e) => seen.push(e.kind),
      },
    );
    expect(out).toBe("ok");
    expect(seen).toEqual(["throttled", "server", "network"]);
    expect(time.sleeps).toEqual([50, 100, 200]);

    await expect(
      withRetry(
        async () => {
          throw awsError("ThrottlingException", 400);
        },
        { baseMs: 1, capMs: 1, maxRetries: 2, clock: time },
      ),
    ).rejects.toThrow("ThrottlingException");
    let fatalCalls = 0;
    await expect(
      withRetry(
        async () => {
          fatalCalls++;
          throw awsError("AccessDeniedException", 400);
        },
        { baseMs: 1, capMs: 1, maxRetries: 5, clock: time },
      ),
    ).rejects.toThrow("AccessDeniedException");
    expect(fatalCalls).toBe(1);
  });
});
