import { LocalStackError } from "./emulators.js";

/** Stage throttling as API Gateway defines it: a steady rate per second and a burst. */
export interface Throttling {
  readonly rateLimit: number;
  readonly burstLimit: number;
}

/**
 * API Gateway's throttling model, a token bucket: it holds up to `burstLimit` requests' worth of
 * tokens, starts full and refills at `rateLimit` tokens a second; each request takes one, and a
 * request that finds none is throttled. Returns whether this request may pass.
 */
export function createTokenBucket(throttling: Throttling, now: () => number = () => performance.now()): () => boolean {
  let tokens = throttling.burstLimit;
  let refilledAt = now();
  return () => {
    const at = now();
    tokens = Math.min(throttling.burstLimit, tokens + ((at - refilledAt) / 1000) * throttling.rateLimit);
    refilledAt = at;
    if (tokens < 1) return false;
    tokens -= 1;
    return true;
  };
}

/** `--throttle RATE,BURST`, e.g. `10,20` (dev's limits): requests per second, and the burst. */
export function parseThrottleOption(value: string): Throttling {
  const match = /^\s*(\d+(?:\.\d+)?)\s*,\s*(\d+)\s*$/.exec(value);
  if (!match) {
    throw new LocalStackError(
      `--throttle takes RATE,BURST (requests per second, and the burst), e.g. --throttle 10,20; got ${JSON.stringify(value)}`,
    );
  }
  return { rateLimit: Number(match[1]), burstLimit: Number(match[2]) };
}
