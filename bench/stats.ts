/** Order statistics of a sample (nearest-rank), for timings that are not normally distributed. */
export function percentile(sample: readonly number[], fraction: number): number {
  if (sample.length === 0) return Number.NaN;
  const sorted = [...sample].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1));
  return sorted[rank] as number;
}

export const median = (sample: readonly number[]): number => percentile(sample, 0.5);

export function round(value: number, digits = 1): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}
