import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import * as z from "zod";

/** `.local/stack.json`: where a running local stack is, so other tools (keys, tests, bench) can find it. */
export const DEFAULT_STACK_FILE = ".local/stack.json";

const signalChannel = z.object({
  url_prefix: z.url(),
  name_prefix: z.string(),
  dead_letter_url: z.url(),
  dead_letter_arn: z.string(),
});

export const stackFileSchema = z.object({
  api_url: z.url(),
  region: z.string(),
  dynamodb_endpoint: z.url(),
  sqs_endpoint: z.url(),
  tables: z.object({
    executions: z.string(),
    api_keys: z.string(),
    limits: z.string(),
    sweep_positions: z.string(),
    bulk_stops: z.string(),
  }),
  /**
   * Per channel: an owner's queue URL is `url_prefix` + its id; owners make their queue with `name_prefix` and
   * `dead_letter_arn`.
   */
  signal_channels: z.object({ workers: signalChannel, environments: signalChannel }),
  queues: z.object({
    /** Task events in EventBridge's envelope, as a rule targeting a queue delivers them. */
    events: z.url(),
    /** Stream records the processor gave up on (Lambda's on-failure destination). */
    execution_stream_failures: z.url(),
    /** The bulk stops' runs, consumed by the bulk stop function. */
    bulk_stop_jobs: z.url(),
  }),
});
export type StackFile = z.infer<typeof stackFileSchema>;

export async function writeStackFile(path: string, stack: StackFile): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  // Write then rename, so a reader polling for the file never sees half of it.
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(stack, null, 2)}\n`);
  await rename(temporary, path);
}

export async function readStackFile(path: string = DEFAULT_STACK_FILE): Promise<StackFile> {
  return stackFileSchema.parse(JSON.parse(await readFile(path, "utf8")));
}
