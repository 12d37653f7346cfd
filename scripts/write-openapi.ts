/** `npm run openapi`: writes openapi.json from the zod schemas and the route table. */
import { writeFileSync } from "node:fs";
import { buildOpenApiDocument } from "../lib/http/openapi.js";

const target = process.argv[2] ?? "openapi.json";
writeFileSync(target, `${JSON.stringify(buildOpenApiDocument(), null, 2)}\n`);
console.log(`wrote ${target}`);
