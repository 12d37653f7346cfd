import { afterAll, expect } from "vitest";
import { hashApiKey } from "../../lib/auth/api-keys.js";
import { rememberedSecrets } from "./secret-registry.js";

/**
 * Runs before every test file: captures everything written to stdout and stderr (the handlers log
 * at DEBUG and emit their metrics during tests, so every line they can write is written), keeps
 * Powertools' JSON log and EMF lines
 * out of the terminal, and after the file asserts that no API key the file used, nor its hash,
 * appears in any of it.
 */
const captured: string[] = [];

function capture(stream: NodeJS.WriteStream): void {
  const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
  stream.write = ((chunk: unknown, ...rest: unknown[]) => {
    const text = typeof chunk === "string" ? chunk : Buffer.isBuffer(chunk) ? chunk.toString("utf8") : String(chunk);
    captured.push(text);
    // Structured log lines are evidence, not output: keep them, do not print them.
    if (text.startsWith('{"') && (text.includes('"level"') || text.includes('"_aws"'))) return true;
    return write(chunk, ...rest);
  }) as typeof stream.write;
}

capture(process.stdout);
capture(process.stderr);

afterAll(() => {
  const log = captured.join("");
  const leaks: string[] = [];
  for (const key of rememberedSecrets()) {
    if (log.includes(key)) leaks.push(`key ${key.slice(0, 6)}…`);
    if (log.includes(hashApiKey(key))) leaks.push(`hash of key ${key.slice(0, 6)}…`);
  }
  expect(leaks, "API keys or their hashes in the log output").toEqual([]);
});

export function capturedLogLines(): readonly string[] {
  return captured;
}
