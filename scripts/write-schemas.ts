/** `npm run schemas`: writes the JSON Schemas of the stop message and the task events from their zod schemas. */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildMessageSchemas, SCHEMAS_DIRECTORY } from "./message-schemas.js";

const directory = process.argv[2] ?? SCHEMAS_DIRECTORY;
mkdirSync(directory, { recursive: true });
for (const [fileName, schema] of Object.entries(buildMessageSchemas())) {
  writeFileSync(join(directory, fileName), `${JSON.stringify(schema, null, 2)}\n`);
  console.log(`wrote ${join(directory, fileName)}`);
}
