import * as z from "zod";

/**
 * Each function's environment, read and validated once per container. A missing or bad
 * variable fails the cold start with the variable's name, not a request later with a vaguer error.
 */
const awsClientSettings = {
  // Per-attempt budget for one AWS call, so that a hung dependency cannot eat the Lambda timeout:
  // 3 attempts x (1.5 s + backoff) stays well inside the function's 10 s.
  AWS_REQUEST_TIMEOUT_MS: z.coerce.number().int().positive().default(1500),
  AWS_CONNECTION_TIMEOUT_MS: z.coerce.number().int().positive().default(500),
  AWS_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(10).default(3),
  /** Only set off AWS: the embedded local stack's emulators. */
  DYNAMODB_ENDPOINT: z.url().optional(),
  SQS_ENDPOINT: z.url().optional(),
};

const getTaskConfigSchema = z.object({
  ...awsClientSettings,
  EXECUTIONS_TABLE_NAME: z.string().min(1),
  API_KEYS_TABLE_NAME: z.string().min(1),
  API_KEY_CACHE_TTL_SECONDS: z.coerce.number().nonnegative().default(60),
});

const stopTaskConfigSchema = getTaskConfigSchema.extend({
  STOP_SIGNAL_QUEUE_URL: z.url(),
  ASSET_COMMAND_QUEUE_URL: z.url(),
});

export type GetTaskConfig = z.infer<typeof getTaskConfigSchema>;
export type StopTaskConfig = z.infer<typeof stopTaskConfigSchema>;

function readConfig<T extends z.ZodType>(name: string, schema: T, env: Record<string, string | undefined>): z.infer<T> {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`).join("; ");
    throw new Error(`invalid ${name} configuration: ${problems}`);
  }
  return parsed.data;
}

export function readStopTaskConfig(env: Record<string, string | undefined> = process.env): StopTaskConfig {
  return readConfig("stop-task", stopTaskConfigSchema, env);
}

export function readGetTaskConfig(env: Record<string, string | undefined> = process.env): GetTaskConfig {
  return readConfig("get-task", getTaskConfigSchema, env);
}
