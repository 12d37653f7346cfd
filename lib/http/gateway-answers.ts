import type { APIGatewayProxyResult } from "aws-lambda";
import type { GatewayAnswer } from "../resources.js";
import { REQUEST_ID_HEADER } from "./responses.js";

/**
 * One row of lib/resources.ts `gatewayAnswers`, rendered twice: as the GatewayResponse API
 * Gateway answers with (a mapping template over its context variables), and as the response the
 * local server writes. Both come from here so that they cannot say different things; the
 * contract test (test/contract/gateway-answers.test.ts) renders the first and compares it with
 * what the second wrote, byte for byte.
 */

/** The media type of every gateway answer: its template's key, which API Gateway sends as Content-Type. */
export const GATEWAY_ANSWER_CONTENT_TYPE = "application/json";
const RETRY_AFTER_HEADER = "retry-after";

/** What a catch-all caught: the status and message API Gateway (or the local server) had for it. */
export interface CaughtRefusal {
  readonly status: number;
  readonly message: string;
}

/** The parts of a CDK `GatewayResponseOptions` a row decides. */
export interface GatewayResponseDefinition {
  readonly statusCode?: string;
  /** Header name to a mapping expression: `'literal'` or a context variable. */
  readonly responseHeaders: Readonly<Record<string, string>>;
  readonly templates: Readonly<Record<string, string>>;
}

/**
 * A detail goes into a Velocity template, where `$` and `#` start references and directives (and
 * `\` escapes them): a fixed detail has none of them, so that it comes out as written.
 */
function templateLiteral(detail: string): string {
  if (/[$#\\]/.test(detail))
    throw new Error(
      `gateway answer detail ${JSON.stringify(detail)} has a character the mapping template would interpret`,
    );
  return JSON.stringify(detail);
}

export function gatewayResponseDefinition(answer: GatewayAnswer): GatewayResponseDefinition {
  // `messageString` is the message already quoted for JSON, as in API Gateway's own default templates.
  const detail = typeof answer.detail === "string" ? templateLiteral(answer.detail) : "$context.error.messageString";
  return {
    ...(answer.status === undefined ? {} : { statusCode: String(answer.status) }),
    responseHeaders: {
      [REQUEST_ID_HEADER]: "context.requestId",
      ...(answer.retryAfterSeconds === undefined ? {} : { [RETRY_AFTER_HEADER]: `'${answer.retryAfterSeconds}'` }),
    },
    templates: { [GATEWAY_ANSWER_CONTENT_TYPE]: `{"detail":${detail}}` },
  };
}

/** The local server's answer for a row; a catch-all needs what it caught. */
export function gatewayAnswerResponse(
  answer: GatewayAnswer,
  requestId: string,
  caught?: CaughtRefusal,
): APIGatewayProxyResult {
  const statusCode = answer.status ?? caught?.status;
  const detail = typeof answer.detail === "string" ? answer.detail : caught?.message;
  if (statusCode === undefined || detail === undefined)
    throw new Error("a catch-all gateway answer needs the status and message it caught");
  return {
    statusCode,
    headers: {
      "content-type": GATEWAY_ANSWER_CONTENT_TYPE,
      [REQUEST_ID_HEADER]: requestId,
      ...(answer.retryAfterSeconds === undefined ? {} : { [RETRY_AFTER_HEADER]: String(answer.retryAfterSeconds) }),
    },
    body: JSON.stringify({ detail }),
  };
}
