import * as fc from "fast-check";
import { describe, expect, it } from "vitest";
import { durationDeadline, NO_DEADLINE } from "../../../lib/executions/deadlines.js";
import { crossedLimit, limitMaximums, readStoredLimits } from "../../../lib/limits.js";
import { formatTimestamp, timestampMillis } from "../../../lib/timestamp.js";

/** Whole seconds active, as the duration guard counts them from `idx_active_since`. */
const secondsActive = (since: string, now: number) => Math.floor((now - (timestampMillis(since) ?? 0)) / 1000);

describe("a running task's duration deadline", () => {
  it("is the first instant the duration guard counts the task over its limit", () => {
    fc.assert(
      fc.property(
        fc.date({ min: new Date("2000-01-01T00:00:00Z"), max: new Date("2100-01-01T00:00:00Z"), noInvalidDate: true }),
        fc.integer({ min: 0, max: limitMaximums.max_duration_seconds }),
        fc.integer({ min: -3_000, max: 3_000 }),
        (start, limit, offsetMs) => {
          const since = formatTimestamp(start);
          const deadline = durationDeadline(since, { max_duration_seconds: limit }, undefined) as string;
          const now = Date.parse(deadline) + offsetMs;
          const over = crossedLimit(
            { tokens: 0, toolCalls: 0, durationSeconds: secondsActive(since, now) },
            {
              max_duration_seconds: limit,
            },
          );
          expect(over !== undefined).toBe(now >= Date.parse(deadline));
        },
      ),
    );
  });

  it("takes the task's own limit over its organization's default, lower or higher", () => {
    const since = "2026-12-01T10:00:00.000000Z";
    expect(durationDeadline(since, { max_duration_seconds: 60 }, { max_duration_seconds: 3600 })).toBe(
      "2026-12-01T10:01:01.000000Z",
    );
    expect(durationDeadline(since, { max_duration_seconds: 7200 }, { max_duration_seconds: 600 })).toBe(
      "2026-12-01T12:00:01.000000Z",
    );
    expect(durationDeadline(since, { max_duration_seconds: null }, { max_duration_seconds: 600 })).toBe(
      "2026-12-01T10:10:01.000000Z",
    );
  });

  it("is never due without a duration limit, and undefined without a start", () => {
    expect(durationDeadline("2026-12-01T10:00:00Z", {}, { max_tokens: 5 })).toBe(NO_DEADLINE);
    expect(durationDeadline("not a time", { max_duration_seconds: 5 }, undefined)).toBeUndefined();
    expect(durationDeadline(undefined, undefined, undefined)).toBeUndefined();
  });

  it("never throws on a stored limit beyond the maximum (issue 24, item 7): it reads as 10 years", () => {
    const since = "2026-12-01T10:00:00Z";
    const huge = { max_duration_seconds: 9007199254740991 };
    expect(readStoredLimits(huge)).toEqual({ max_duration_seconds: limitMaximums.max_duration_seconds });
    expect(durationDeadline(since, undefined, readStoredLimits(huge))).toBe("2036-11-28T10:00:01.000000Z");
    expect(durationDeadline(since, huge, undefined)).toBe("2036-11-28T10:00:01.000000Z");
    // A start so late that start plus the limit passes year 9999: no deadline, not a throw.
    expect(durationDeadline("9999-06-01T00:00:00Z", huge, undefined)).toBe(NO_DEADLINE);
  });
});
