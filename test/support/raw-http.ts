import { connect } from "node:net";

/**
 * HTTP/1.1 written byte for byte onto a socket, for tests that must send what `fetch` and
 * `http.request` refuse to (raw unicode or control characters in the path, null bytes in header
 * values, conflicting framing headers): the server, not the client library, decides what to do.
 */

export interface RawRequest {
  readonly method: string;
  /** The request target exactly as it goes on the wire (UTF-8 encoded). */
  readonly target: string;
  /** Header pairs in order; repeated names are sent repeatedly. `host` and `connection` are added. */
  readonly headers?: readonly (readonly [string, string | Buffer])[];
  readonly body?: Buffer;
  /** Leave out the content-length the body would otherwise get (e.g. to send your own framing). */
  readonly omitContentLength?: boolean;
}

export interface RawResponse {
  readonly status: number;
  /** Header names lower-cased; a repeated header keeps its last value. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

function dechunk(payload: Buffer): Buffer {
  const parts: Buffer[] = [];
  let offset = 0;
  for (;;) {
    const lineEnd = payload.indexOf("\r\n", offset);
    if (lineEnd < 0) break;
    const size = Number.parseInt(payload.subarray(offset, lineEnd).toString("latin1"), 16);
    if (!Number.isFinite(size) || size === 0) break;
    parts.push(payload.subarray(lineEnd + 2, lineEnd + 2 + size));
    offset = lineEnd + 2 + size + 2;
  }
  return Buffer.concat(parts);
}

function parseResponse(raw: Buffer, method: string): RawResponse {
  const headerEnd = raw.indexOf("\r\n\r\n");
  if (headerEnd < 0) throw new Error(`incomplete response: ${JSON.stringify(raw.toString("latin1").slice(0, 200))}`);
  const [statusLine = "", ...headerLines] = raw.subarray(0, headerEnd).toString("latin1").split("\r\n");
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1]);
  if (!Number.isInteger(status)) throw new Error(`not an HTTP status line: ${JSON.stringify(statusLine)}`);
  const headers: Record<string, string> = {};
  for (const line of headerLines) {
    const colon = line.indexOf(":");
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const payload = raw.subarray(headerEnd + 4);
  const body =
    method === "HEAD" ? Buffer.alloc(0) : headers["transfer-encoding"] === "chunked" ? dechunk(payload) : payload;
  return { status, headers, body: body.toString("utf8") };
}

/** Sends one request on a fresh connection and reads the response until the server closes it. */
export function rawHttpRequest(baseUrl: string, request: RawRequest): Promise<RawResponse> {
  const { hostname, port } = new URL(baseUrl);
  const body = request.body ?? Buffer.alloc(0);
  const headerLines: Buffer[] = [
    Buffer.from(
      `${request.method} ${request.target} HTTP/1.1\r\nhost: ${hostname}:${port}\r\nconnection: close\r\n`,
      "utf8",
    ),
  ];
  for (const [name, value] of request.headers ?? []) {
    headerLines.push(
      Buffer.from(`${name}: `, "utf8"),
      typeof value === "string" ? Buffer.from(value, "utf8") : value,
      Buffer.from("\r\n"),
    );
  }
  if (body.length > 0 && !request.omitContentLength)
    headerLines.push(Buffer.from(`content-length: ${body.length}\r\n`));
  headerLines.push(Buffer.from("\r\n"));

  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect({ host: hostname, port: Number(port) });
    const finish = () => {
      try {
        resolve(parseResponse(Buffer.concat(chunks), request.method));
      } catch (error) {
        reject(error);
      }
    };
    // The server may answer and close before it has read a body it refuses; what it sent still counts.
    socket.on("error", (error) => (chunks.length > 0 ? finish() : reject(error)));
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.on("end", finish);
    socket.write(Buffer.concat([...headerLines, body]));
  });
}
