import * as z from "zod";

/**
 * The stop function's environment, read and validated once per container. A missing or bad
 * variable fails the cold start with the variable's name, not a request later with a vaguer error.
 */
const stopTaskConfigSchema = z.object({
  EXECUTIONS_TABLE_NAME: z.string().min(1),
  API_KEYS_TABLE_NAME: z.string().min(1),
  STOP_SIGNAL_QUEUE_URL: z.url(),
  ASSET_COMMAND_QUEUE_URL: z.url(),
  API_KEY_CACHE_TTL_SECONDS: z.coerce.number().nonnegative().default(60),
  // Per-attempt budget for one AWS call, so that a hung dependency cannot eat the Lambda timeout:
  // 3 attempts x (1.5 s + backoff) stays well inside the function's 10 s.
  AWS_REQUEST_TIMEOUT_MS: z.coerce.number().int().positive().default(1500),
  AWS_CONNECTION_TIMEOUT_MS: z.coerce.number().int().positive().default(500),
  AWS_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(10).default(3),
  /** Only set off AWS: the embedded local stack's emulators. */
  DYNAMODB_ENDPOINT: z.url().optional(),
  SQS_ENDPOINT: z.url().optional(),
});

export type StopTaskConfig = z.infer<typeof stopTaskConfigSchema>;

export function readStopTaskConfig(env: Record<string, string | undefined> = process.env): StopTaskConfig {
  const parsed = stopTaskConfigSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`).join("; ");
    throw new Error(`invalid stop-task configuration: ${problems}`);
  }
  return parsed.data;
}
