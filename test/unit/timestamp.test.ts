import * as fc from "fast-check";
import { describe, expect, it } from "vitest";
import { canonicalTimestamp, formatTimestamp, timestampMillis } from "../../lib/timestamp.js";

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
    const instant = fc.record({
      millis: fc.integer({ min: Date.UTC(1970, 0, 1), max: Date.UTC(2200, 0, 1) }),
      subMillis: fc.integer({ min: 0, max: 999 }),
    });
    const form = fc.record({
      offsetMinutes: fc.integer({ min: -14 * 60, max: 14 * 60 }),
      zone: fc.constantFrom("Z", "z", "+hh:mm", "+hhmm", "naive"),
      separator: fc.constantFrom("T", " ", "t"),
      digits: fc.integer({ min: 0, max: 9 }),
    });
    fc.assert(
      fc.property(instant, instant, form, ({ millis, subMillis }, other, { offsetMinutes, zone, separator, digits }) => {
        const utcOnly = zone === "Z" || zone === "z" || zone === "naive";
        const shift = utcOnly ? 0 : offsetMinutes;
        const local = new Date(millis + shift * 60_000).toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ
        const fraction = `${local.slice(20, 23)}${String(subMillis).padStart(3, "0")}000`.slice(0, digits);
        const sign = shift < 0 ? "-" : "+";
        const hh = String(Math.floor(Math.abs(shift) / 60)).padStart(2, "0");
        const mm = String(Math.abs(shift) % 60).padStart(2, "0");
        const suffix = zone === "naive" ? "" : utcOnly ? zone : zone === "+hhmm" ? `${sign}${hh}${mm}` : `${sign}${hh}:${mm}`;
        const stored = `${local.slice(0, 10)}${separator}${local.slice(11, 19)}${digits > 0 ? `.${fraction}` : ""}${suffix}`;

        const keptMicros = Number(`${String(millis % 1000).padStart(3, "0")}${String(subMillis).padStart(3, "0")}`.slice(0, digits).padEnd(6, "0"));
        const expected = `${new Date(millis).toISOString().slice(0, 19)}.${String(keptMicros).padStart(6, "0")}Z`;
        expect(canonicalTimestamp(stored)).toBe(expected);

        const [a, b] = [expected, canonicalTimestamp(`${new Date(other.millis).toISOString().slice(0, 23)}${String(other.subMillis).padStart(3, "0")}Z`) ?? ""];
        const aMicros = Math.floor(millis / 1000) * 1_000_000 + keptMicros;
        const bMicros = other.millis * 1000 + other.subMillis;
        expect(a < b ? -1 : a > b ? 1 : 0).toBe(Math.sign(aMicros - bMicros));
      }),
      { numRuns: 500 },
    );
  });
});
