/**
 * Lambda event filtering, the part of its pattern language that lib/resources.ts uses: nested
 * objects, lists of accepted values, `{"exists": true|false}`, and lists of objects in the record
 * (Lambda's matcher flattens them: a nested pattern matches when one entry matches all of it). Patterns are ORed; within a
 * pattern every key must match. Anything else in a pattern is refused loudly, so the local stack
 * never quietly filters differently from AWS.
 */

type Pattern = { readonly [key: string]: Pattern | readonly PatternValue[] };
type PatternValue = string | number | boolean | null | { readonly exists: boolean };

function isOperator(value: PatternValue): value is { readonly exists: boolean } {
  return typeof value === "object" && value !== null;
}

function matchesValues(present: boolean, value: unknown, accepted: readonly PatternValue[]): boolean {
  return accepted.some((candidate) => {
    if (isOperator(candidate)) {
      const keys = Object.keys(candidate);
      if (keys.length !== 1 || keys[0] !== "exists")
        throw new Error(`unsupported filter operator ${JSON.stringify(candidate)}`);
      return candidate.exists === present;
    }
    return present && (Array.isArray(value) ? value.includes(candidate) : value === candidate);
  });
}

function matchesPattern(value: unknown, pattern: Pattern): boolean {
  return Object.entries(pattern).every(([key, expected]) => {
    const record = typeof value === "object" && value !== null ? (value as Record<string, unknown>) : undefined;
    const present = record !== undefined && Object.hasOwn(record, key) && record[key] !== undefined;
    const field = present ? record?.[key] : undefined;
    if (Array.isArray(expected)) return matchesValues(present, field, expected as readonly PatternValue[]);
    if (Array.isArray(field)) return field.some((entry) => matchesPattern(entry, expected as Pattern));
    // An absent object has absent leaves: only `{"exists": false}` below it matches, as in AWS.
    return matchesPattern(field, expected as Pattern);
  });
}

/** True when the record matches at least one pattern (or there are none). */
export function matchesAnyFilter(record: unknown, patterns: readonly unknown[]): boolean {
  return patterns.length === 0 || patterns.some((pattern) => matchesPattern(record, pattern as Pattern));
}
