/**
 * Timestamps as the platform's writers store them, and the one form this service writes and
 * returns. The platform is Python (pydantic v2); a stored datetime may be pydantic's JSON
 * (`...123456Z`), `datetime.isoformat()` (`...123456+00:00`), a naive datetime meant as UTC
 * (`datetime.utcnow()`), `str(datetime)` with a space for the `T`, or a Unix time. Everything
 * pydantic's datetime accepts is read here, and everything is written and returned as RFC 3339
 * UTC with microseconds: `2026-12-01T09:00:00.123456Z`. Microseconds because that is what a
 * Python datetime holds (nothing the platform stored is lost on the way out), fixed width so
 * that stored index keys sort as strings in time order.
 */
import * as z from "zod/mini";

const MICROS_PER_MILLI = 1000;
const MICROS_PER_SECOND = 1_000_000;

// date, then optionally [T t space] hh:mm[:ss[.fraction]] [Z z ±hh:mm ±hhmm]; the fraction may
// have 1 to 9 digits (pydantic keeps 6 and drops the rest, as here).
const ISO_PATTERN =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(?:([Zz])|([+-])(\d{2}):?(\d{2}))?)?$/;

/** A number or numeric string is a Unix time: seconds, or milliseconds beyond 2e10, as pydantic reads it. */
const UNIX_PATTERN = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const UNIX_SECONDS_LIMIT = 2e10;

/**
 * An instant as a Python datetime holds it: milliseconds since the epoch and the microseconds within that
 * millisecond, apart, because microseconds since the epoch stop being exact in a double after the year 2255.
 */
interface Instant {
  readonly epochMillis: number;
  readonly microsOfMilli: number;
}

/**
 * The instants a Python datetime can hold, 0001-01-01 to 9999-12-31 UTC: pydantic refuses a Unix time past 9999 (a
 * `time.time_ns()` value, say), and a 4-digit year is what the canonical form and the index keys sort by. Anything
 * outside is not a timestamp, never an instant that cannot be written back.
 */
const EARLIEST_MILLIS = Date.parse("0001-01-01T00:00:00Z");
const END_MILLIS = Date.parse("+010000-01-01T00:00:00Z");

function parseInstant(value: unknown): Instant | undefined {
  const instant = parseAnyInstant(value);
  return instant && instant.epochMillis >= EARLIEST_MILLIS && instant.epochMillis < END_MILLIS ? instant : undefined;
}

function parseAnyInstant(value: unknown): Instant | undefined {
  if (typeof value === "number") return unixTime(value);
  if (typeof value === "bigint") return unixTime(Number(value));
  if (typeof value !== "string") return undefined;
  const text = value.trim();
  if (UNIX_PATTERN.test(text)) return unixTime(Number(text));
  const match = ISO_PATTERN.exec(text);
  if (!match) return undefined;
  const [
    ,
    year,
    month,
    day,
    hour = "0",
    minute = "0",
    second = "0",
    fraction = "",
    ,
    sign,
    offsetHours,
    offsetMinutes,
  ] = match;
  const fields = [year, month, day, hour, minute, second, offsetHours ?? "0", offsetMinutes ?? "0"].map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const [y, mo, d, h, mi, s, oh, om] = fields;
  if (
    y < 1 ||
    mo < 1 ||
    mo > 12 ||
    d < 1 ||
    d > daysInMonth(y, mo) ||
    h > 23 ||
    mi > 59 ||
    s > 59 ||
    oh > 23 ||
    om > 59
  ) {
    return undefined;
  }
  // Date.UTC maps years 0-99 to 1900-1999; setUTCFullYear does not.
  const date = new Date(Date.UTC(2000, mo - 1, d, h, mi, s));
  date.setUTCFullYear(y);
  const offsetMinutesTotal = (sign === "-" ? -1 : 1) * (oh * 60 + om);
  const micros = Number(fraction.padEnd(6, "0").slice(0, 6));
  return {
    epochMillis: date.getTime() - offsetMinutesTotal * 60_000 + Math.floor(micros / MICROS_PER_MILLI),
    microsOfMilli: micros % MICROS_PER_MILLI,
  };
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function daysInMonth(year: number, month: number): number {
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  return month === 2 && leap ? 29 : (DAYS_IN_MONTH[month - 1] ?? 0);
}

function unixTime(value: number): Instant | undefined {
  if (!Number.isFinite(value)) return undefined;
  const seconds = Math.abs(value) > UNIX_SECONDS_LIMIT ? value / 1000 : value;
  // Unix times within the datetime range are under 3e11 s: microseconds are exact in a double there.
  const micros = Math.round(seconds * MICROS_PER_SECOND);
  const epochMillis = Math.floor(micros / MICROS_PER_MILLI);
  return { epochMillis, microsOfMilli: micros - epochMillis * MICROS_PER_MILLI };
}

function formatInstant({ epochMillis, microsOfMilli }: Instant): string {
  const iso = new Date(epochMillis).toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ
  return `${iso.slice(0, -1)}${String(microsOfMilli).padStart(3, "0")}Z`;
}

/** The canonical form of `date`: what this service writes into every timestamp it stores. */
export function formatTimestamp(date: Date): string {
  return formatInstant({ epochMillis: date.getTime(), microsOfMilli: 0 });
}

/** `value` in the canonical form, or undefined when it is not a timestamp (or lies outside years 1-9999). */
export function canonicalTimestamp(value: unknown): string | undefined {
  const instant = parseInstant(value);
  return instant === undefined ? undefined : formatInstant(instant);
}

/** Milliseconds since the epoch (for comparisons with `Date.now()`), or undefined when it is not a timestamp. */
export function timestampMillis(value: unknown): number | undefined {
  return parseInstant(value)?.epochMillis;
}

/**
 * A stored timestamp in any form the platform's writers produce, read as the canonical form;
 * anything that is not a timestamp fails the date-time check.
 */
export const storedTimestampSchema = z.pipe(
  z.transform(canonicalTimestamp),
  z.iso.datetime({ error: "Invalid timestamp: expected ISO 8601, e.g. 2026-12-01T09:00:00.123456Z" }),
);
