import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * ListQueues paged as SQS pages it, in front of a real emulator that does not.
 *
 * Why a stand-in: neither emulator at hand pages. fauxqs 1.9 cuts the list at MaxResults and
 * never returns a NextToken (without MaxResults it returns every queue); moto 5.2.1 ignores
 * MaxResults, cuts at 1,000 and never returns a NextToken either (moto/sqs/models.py
 * `list_queues`, `qs[:1000]`; checked against `python3 -m moto.server` with 1,205 queues). So
 * this proxy answers `AmazonSQS.ListQueues` itself, from the emulator's whole list, following
 * SQS's API reference for ListQueues:
 * - at most 1,000 URLs a response; MaxResults, when given, must be 1 to 1,000;
 * - a NextToken only when MaxResults is set and more queues remain ("You must set MaxResults to
 *   receive a value for NextToken in the response"); a request with that token gets the next page;
 * - no promised order: the proxy lists in the order of each URL's SHA-256, neither by name nor by
 *   creation, so a caller that assumes an order is caught;
 * - the token is opaque; one that does not belong to the request's prefix is refused.
 * Every other call goes to the emulator unchanged. `seen` counts the operations, for the tests'
 * and the bench's call counts.
 */
export interface SqsPagingProxy {
  readonly endpoint: string;
  readonly seen: Map<string, number>;
  close(): Promise<void>;
}

const MAX_PAGE = 1000;

function readBody(incoming: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    incoming.on("data", (chunk: Buffer) => chunks.push(chunk));
    incoming.on("end", () => resolve(Buffer.concat(chunks)));
    incoming.on("error", reject);
  });
}

function headersOf(incoming: IncomingMessage, host: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(incoming.headers)) {
    if (value === undefined || name === "content-length" || name === "connection") continue;
    headers[name] = Array.isArray(value) ? value.join(", ") : value;
  }
  return { ...headers, host };
}

function sendJson(outgoing: ServerResponse, status: number, body: unknown): void {
  outgoing.writeHead(status, { "content-type": "application/x-amz-json-1.0" });
  outgoing.end(JSON.stringify(body));
}

const invalidParameter = (message: string) => ({
  __type: "com.amazonaws.sqs#InvalidParameterValueException",
  message,
});

const orderKey = (url: string) => createHash("sha256").update(url).digest("hex");

export async function startSqsPagingProxy(targetEndpoint: string): Promise<SqsPagingProxy> {
  const target = new URL(targetEndpoint);
  const seen = new Map<string, number>();

  async function forward(incoming: IncomingMessage, body: Buffer): Promise<Response> {
    return fetch(new URL(incoming.url ?? "/", target), {
      method: incoming.method ?? "POST",
      headers: headersOf(incoming, target.host),
      ...(body.length > 0 ? { body } : {}),
    });
  }

  async function listQueues(incoming: IncomingMessage, body: Buffer, outgoing: ServerResponse): Promise<void> {
    const request = JSON.parse(body.toString("utf8") || "{}") as {
      QueueNamePrefix?: string;
      MaxResults?: number;
      NextToken?: string;
    };
    const { MaxResults: maxResults, NextToken: nextToken, ...rest } = request;
    if (maxResults !== undefined && !(Number.isInteger(maxResults) && maxResults >= 1 && maxResults <= MAX_PAGE)) {
      sendJson(outgoing, 400, invalidParameter(`MaxResults must be 1 to ${MAX_PAGE}`));
      return;
    }
    let offset = 0;
    if (nextToken !== undefined) {
      const position = JSON.parse(Buffer.from(nextToken, "base64url").toString("utf8") || "{}") as {
        prefix?: string;
        offset?: number;
      };
      if (position.prefix !== (rest.QueueNamePrefix ?? "") || typeof position.offset !== "number") {
        sendJson(outgoing, 400, invalidParameter("Invalid NextToken"));
        return;
      }
      offset = position.offset;
    }
    // The emulator's whole list: fauxqs returns every match when MaxResults is absent.
    const everything = (await (await forward(incoming, Buffer.from(JSON.stringify(rest)))).json()) as {
      QueueUrls?: string[];
    };
    const ordered = [...(everything.QueueUrls ?? [])].sort((a, b) => (orderKey(a) < orderKey(b) ? -1 : 1));
    const page = ordered.slice(offset, offset + (maxResults ?? MAX_PAGE));
    const next = offset + page.length;
    const more = maxResults !== undefined && next < ordered.length;
    sendJson(outgoing, 200, {
      ...(page.length > 0 ? { QueueUrls: page } : {}),
      ...(more
        ? {
            NextToken: Buffer.from(JSON.stringify({ prefix: rest.QueueNamePrefix ?? "", offset: next })).toString(
              "base64url",
            ),
          }
        : {}),
    });
  }

  const server: Server = createServer((incoming, outgoing) => {
    const operation = String(incoming.headers["x-amz-target"] ?? "unknown").replace(/^AmazonSQS\./, "");
    seen.set(operation, (seen.get(operation) ?? 0) + 1);
    readBody(incoming)
      .then(async (body) => {
        if (operation === "ListQueues") return listQueues(incoming, body, outgoing);
        const response = await forward(incoming, body);
        const headers = Object.fromEntries(
          [...response.headers].filter(([name]) => name !== "content-length" && name !== "transfer-encoding"),
        );
        outgoing.writeHead(response.status, headers);
        outgoing.end(Buffer.from(await response.arrayBuffer()));
      })
      .catch(() => outgoing.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
