import * as fc from "fast-check";
import { describe, expect, it } from "vitest";
import { canonicalTimestamp, formatTimestamp, timestampMillis } from "../../lib/timestamp.js";
import { writtenTimestamp } from "../support/timestamp-arbitrary.js";

/**
 * What pydantic v2's datetime accepts, written here as the forms a Python writer produces
 * (checked against pydantic 2.13: the same inputs, the same instants).
 */
describe("canonicalTimestamp", () => {
  it.each([
    ["2026-12-01T09:00:00.123456Z", "2026-12-01T09:00:00.123456Z"],
    ["2026-12-01T09:00:00.123456+00:00", "2026-12-01T09:00:00.123456Z"],
    ["2026-12-01T09:00:00.123456-00:00", "2026-12-01T09:00:00.123456Z"],
    ["2026-12-01T09:00:00.123456", "2026-12-01T09:00:00.123456Z"],
    ["2026-12-01 09:00:00.123456+00:00", "2026-12-01T09:00:00.123456Z"],
    ["2026-12-01t09:00:00z", "2026-12-01T09:00:00.000000Z"],
    ["2026-12-01T09:00:00", "2026-12-01T09:00:00.000000Z"],
    ["2026-12-01T09:00", "2026-12-01T09:00:00.000000Z"],
    ["2026-12-01", "2026-12-01T00:00:00.000000Z"],
    ["2026-12-01T09:00:00.1Z", "2026-12-01T09:00:00.100000Z"],
    ["2026-12-01T09:00:00.123Z", "2026-12-01T09:00:00.123000Z"],
    ["2026-12-01T09:00:00.123456789Z", "2026-12-01T09:00:00.123456Z"],
    ["2026-12-01T09:00:00+05:30", "2026-12-01T03:30:00.000000Z"],
    ["2026-12-01T09:00:00+0530", "2026-12-01T03:30:00.000000Z"],
    ["2026-12-01T00:30:00.5+01:00", "2026-11-30T23:30:00.500000Z"],
    ["2024-02-29T12:00:00Z", "2024-02-29T12:00:00.000000Z"],
    [1764579600, "2025-12-01T09:00:00.000000Z"],
    ["1764579600.25", "2025-12-01T09:00:00.250000Z"],
    [1764579600123, "2025-12-01T09:00:00.123000Z"],
    // The ends of a Python datetime's range, to the microsecond.
    ["9999-12-31T23:59:59.999999Z", "9999-12-31T23:59:59.999999Z"],
    ["0001-01-01T00:00:00Z", "0001-01-01T00:00:00.000000Z"],
  ])("reads %j as %s", (stored, canonical) => {
    expect(canonicalTimestamp(stored)).toBe(canonical);
  });

  it.each([
    "yesterday",
    "",
    "2026-12-01T09:00:00.Z",
    "2026-12-01T24:00:00",
    "2026-12-01T09:00:60",
    "2026-02-29T00:00:00",
    "2026-13-01T00:00:00",
    "2026-12-01T09:00:00+05",
    "+2026-12-01T09:00:00",
    "0000-01-01T00:00:00",
    // A Unix time in nanoseconds (`time.time_ns()`) or microseconds: pydantic refuses what lands past 9999.
    "1733300000000000000",
    1733300000000000000,
    "1733300000000000",
    // Past the range once the offset is applied: pydantic keeps the aware value, but Python cannot convert it to UTC.
    "9999-12-31T23:59:59-01:00",
    "0001-01-01T00:00:00+01:00",
    1e300,
    null,
    true,
    {},
  ])("refuses %j", (stored) => {
    expect(canonicalTimestamp(stored)).toBeUndefined();
  });

  it("writes the canonical form, which reads back unchanged", () => {
    const written = formatTimestamp(new Date("2026-12-01T09:00:00.123Z"));
    expect(written).toBe("2026-12-01T09:00:00.123000Z");
    expect(canonicalTimestamp(written)).toBe(written);
    expect(timestampMillis(written)).toBe(Date.parse("2026-12-01T09:00:00.123Z"));
  });

  it("reads every form of one instant the same way, and the canonical forms sort in time order", () => {
    fc.assert(
      fc.property(writtenTimestamp, writtenTimestamp, (one, other) => {
        expect(canonicalTimestamp(one.stored)).toBe(one.canonical);
        const [a, b] = [canonicalTimestamp(one.stored) ?? "", canonicalTimestamp(other.stored) ?? ""];
        expect(a < b ? -1 : a > b ? 1 : 0).toBe(Math.sign(one.micros - other.micros));
      }),
      { numRuns: 500 },
    );
  });
});
