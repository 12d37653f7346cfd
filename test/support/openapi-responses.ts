import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import type { OpenApiDocument } from "../../lib/http/openapi.js";

export interface RecordedResponse {
  readonly method: string;
  /** The OpenAPI path template the request was sent to. */
  readonly path: string;
  readonly status: number;
  readonly body: unknown;
}

/**
 * Checks recorded responses against the response schemas the OpenAPI document declares for
 * their operation and status, with a JSON Schema 2020-12 validator (the dialect of OpenAPI 3.1).
 */
export function openApiResponseChecker(document: OpenApiDocument) {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats.default(ajv);
  const documentId = "https://stop-task.local/openapi.json";
  ajv.addSchema({ $id: documentId, components: document.components }, documentId);

  return (recorded: RecordedResponse): string[] => {
    const operation = (
      document.paths[recorded.path] as Record<string, { responses: Record<string, unknown> }> | undefined
    )?.[recorded.method.toLowerCase()];
    if (!operation) return [`${recorded.method} ${recorded.path} is not in the document`];
    const response = operation.responses[String(recorded.status)] as
      | { content?: { "application/json"?: { schema?: { $ref?: string } } } }
      | undefined;
    if (!response) return [`${recorded.method} ${recorded.path} does not document status ${recorded.status}`];
    const schemaRef = response.content?.["application/json"]?.schema?.$ref;
    if (!schemaRef) return [`${recorded.method} ${recorded.path} ${recorded.status} has no JSON schema`];
    const validate = ajv.getSchema(`${documentId}${schemaRef}`);
    if (!validate) return [`cannot resolve ${schemaRef}`];
    return validate(recorded.body)
      ? []
      : (validate.errors ?? []).map((error) => `${error.instancePath} ${error.message}`);
  };
}
