import * as fc from "fast-check";

/** One instant, written the way one of the platform's writers would write it, and its canonical form. */
export interface WrittenTimestamp {
  readonly stored: string;
  readonly canonical: string;
  /** Microseconds since the epoch of what `stored` denotes (after dropping digits past the sixth). */
  readonly micros: number;
}

/**
 * Timestamps in every form pydantic v2 accepts and Python writers emit: `Z` or `z`, `±hh:mm` or
 * `±hhmm` offsets, naive (meant as UTC); 0-9 fractional digits; `T`, `t` or a space.
 */
export const writtenTimestamp: fc.Arbitrary<WrittenTimestamp> = fc
  .record({
    millis: fc.integer({ min: Date.UTC(1970, 0, 1), max: Date.UTC(2200, 0, 1) }),
    subMillis: fc.integer({ min: 0, max: 999 }),
    offsetMinutes: fc.integer({ min: -14 * 60, max: 14 * 60 }),
    zone: fc.constantFrom("Z", "z", "+hh:mm", "+hhmm", "naive"),
    separator: fc.constantFrom("T", " ", "t"),
    digits: fc.integer({ min: 0, max: 9 }),
  })
  .map(({ millis, subMillis, offsetMinutes, zone, separator, digits }) => {
    const utcOnly = zone === "Z" || zone === "z" || zone === "naive";
    const shift = utcOnly ? 0 : offsetMinutes;
    const local = new Date(millis + shift * 60_000).toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ
    const allDigits = `${local.slice(20, 23)}${String(subMillis).padStart(3, "0")}789`;
    const sign = shift < 0 ? "-" : "+";
    const hh = String(Math.floor(Math.abs(shift) / 60)).padStart(2, "0");
    const mm = String(Math.abs(shift) % 60).padStart(2, "0");
    const suffix =
      zone === "naive" ? "" : utcOnly ? zone : zone === "+hhmm" ? `${sign}${hh}${mm}` : `${sign}${hh}:${mm}`;
    const stored = `${local.slice(0, 10)}${separator}${local.slice(11, 19)}${digits > 0 ? `.${allDigits.slice(0, digits)}` : ""}${suffix}`;
    const keptMicros = Number(allDigits.slice(0, Math.min(digits, 6)).padEnd(6, "0"));
    const wholeSeconds = new Date(millis).toISOString().slice(0, 19);
    return {
      stored,
      canonical: `${wholeSeconds}.${String(keptMicros).padStart(6, "0")}Z`,
      micros: Math.floor(millis / 1000) * 1_000_000 + keptMicros,
    };
  });
