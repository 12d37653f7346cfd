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

/** Microseconds since the epoch, or undefined when `value` is not a timestamp pydantic would accept. */
export function parseTimestamp(value: unknown): number | undefined {
  if (typeof value === "number") return unixTimeMicros(value);
  if (typeof value === "bigint") return unixTimeMicros(Number(value));
  if (typeof value !== "string") return undefined;
  const text = value.trim();
  if (UNIX_PATTERN.test(text)) return unixTimeMicros(Number(text));
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
  return (date.getTime() - offsetMinutesTotal * 60_000) * MICROS_PER_MILLI + micros;
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function daysInMonth(year: number, month: number): number {
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  return month === 2 && leap ? 29 : (DAYS_IN_MONTH[month - 1] ?? 0);
}

function unixTimeMicros(value: number): number | undefined {
  if (!Number.isFinite(value)) return undefined;
  const seconds = Math.abs(value) > UNIX_SECONDS_LIMIT ? value / 1000 : value;
  return Math.round(seconds * MICROS_PER_SECOND);
}

/** The canonical form of an instant given in microseconds since the epoch. */
export function formatTimestampMicros(micros: number): string {
  const millis = Math.floor(micros / MICROS_PER_MILLI);
  const subMillis = micros - millis * MICROS_PER_MILLI;
  const iso = new Date(millis).toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ
  return `${iso.slice(0, -1)}${String(subMillis).padStart(3, "0")}Z`;
}

/** The canonical form of `date`: what this service writes into every timestamp it stores. */
export function formatTimestamp(date: Date): string {
  return formatTimestampMicros(date.getTime() * MICROS_PER_MILLI);
}

/** `value` in the canonical form, or undefined when it is not a timestamp. */
export function canonicalTimestamp(value: unknown): string | undefined {
  const micros = parseTimestamp(value);
  return micros === undefined ? undefined : formatTimestampMicros(micros);
}

/** Milliseconds since the epoch (for comparisons with `Date.now()`), or undefined when it is not a timestamp. */
export function timestampMillis(value: unknown): number | undefined {
  const micros = parseTimestamp(value);
  return micros === undefined ? undefined : Math.floor(micros / MICROS_PER_MILLI);
}

/**
 * A stored timestamp in any form the platform's writers produce, read as the canonical form;
 * anything that is not a timestamp fails the date-time check.
 */
export const storedTimestampSchema = z.pipe(
  z.transform(canonicalTimestamp),
  z.iso.datetime({ error: "Invalid timestamp: expected ISO 8601, e.g. 2026-12-01T09:00:00.123456Z" }),
);
