import { describe, expect, it } from "vitest";
import { createTokenBucket, parseThrottleOption } from "../../../infra/local/throttle.js";

/** A clock the test moves by hand, in milliseconds. */
function manualClock() {
  let now = 0;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

describe("the local server's throttling (API Gateway's token bucket)", () => {
  it("lets a full burst through at once, then refuses until a token has refilled", () => {
    const clock = manualClock();
    const mayPass = createTokenBucket({ rateLimit: 10, burstLimit: 3 }, clock.now);

    expect([mayPass(), mayPass(), mayPass(), mayPass()]).toEqual([true, true, true, false]);
    clock.advance(99);
    expect(mayPass()).toBe(false);
    clock.advance(1); // 100 ms at 10 a second is one token
    expect([mayPass(), mayPass()]).toEqual([true, false]);
  });

  it("holds the steady rate: asked three times every 10 ms, it passes the burst plus 10 a second", () => {
    const clock = manualClock();
    const mayPass = createTokenBucket({ rateLimit: 10, burstLimit: 5 }, clock.now);
    let passed = 0;
    for (let tick = 0; tick < 1_000; tick++) {
      for (let attempt = 0; attempt < 3; attempt++) if (mayPass()) passed++;
      clock.advance(10);
    }
    // The last asks come at 9.99 s, when 99 tokens (not yet 100) have refilled.
    expect(passed).toBe(5 + 99);
  });

  it("never saves up more than the burst, however long it was idle", () => {
    const clock = manualClock();
    const mayPass = createTokenBucket({ rateLimit: 1_000, burstLimit: 2 }, clock.now);
    clock.advance(60_000);
    expect([mayPass(), mayPass(), mayPass()]).toEqual([true, true, false]);
  });
});

describe("--throttle RATE,BURST", () => {
  it("reads a rate (possibly fractional) and a burst", () => {
    expect(parseThrottleOption("10,20")).toEqual({ rateLimit: 10, burstLimit: 20 });
    expect(parseThrottleOption(" 0.5 , 1 ")).toEqual({ rateLimit: 0.5, burstLimit: 1 });
  });

  it.each(["", "10", "10,", ",20", "ten,20", "10,2.5", "-1,5", "10,20,30"])(
    "refuses %j, saying what it takes",
    (value) => {
      expect(() => parseThrottleOption(value)).toThrow("--throttle takes RATE,BURST");
    },
  );
});
