/** Every API key a test stores or presents, so the suite can prove none of them (nor a hash) is ever logged. */
const secrets = new Set<string>();

export function rememberSecret(key: string | undefined): void {
  // Very short strings would match by accident; real and test keys are long.
  if (key && key.length >= 8) secrets.add(key);
}

export function rememberedSecrets(): ReadonlySet<string> {
  return secrets;
}
