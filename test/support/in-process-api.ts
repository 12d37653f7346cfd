import type { AddressInfo } from "node:net";
import { afterAll, beforeAll } from "vitest";
import { createLocalApi, type LocalApiOptions, type ProxyHandler } from "../../infra/local/server.js";
import { buildOpenApiDocument } from "../../lib/http/openapi.js";
import { bulkStopHarness } from "./bulk-stop-harness.js";
import { getTaskHandler } from "./get-task-harness.js";
import { type LocalAws, provisionIsolatedStack, type StackOwners, storeApiKey } from "./local-aws.js";
import { stopTaskHarness } from "./stop-task-harness.js";

export interface InProcessApi {
  readonly url: string;
  close(): Promise<void>;
}

/**
 * The local server of `npm start`, in this process, over the real handlers and the emulators:
 * real HTTP for tests that need it, without paying for a child process. `overrides` sets the
 * server's other options (throttling, integration timeout) or wraps a real handler in a fault.
 */
export async function startInProcessApi(
  aws: LocalAws,
  overrides: Omit<Partial<LocalApiOptions>, "handlers"> & { handlers?: Partial<LocalApiOptions["handlers"]> } = {},
): Promise<InProcessApi> {
  const stopTask = stopTaskHarness(aws).handler;
  const getTask = getTaskHandler(aws);
  const bulkStop = bulkStopHarness(aws).handler;
  const { handlers, ...options } = overrides;
  const server = createLocalApi({
    staticRoutes: {
      "/openapi.json": () => ({
        statusCode: 200,
        headers: { "content-type": "application/json" },
        body: JSON.stringify(buildOpenApiDocument()),
      }),
    },
    ...options,
    handlers: {
      "stop-task": stopTask as ProxyHandler,
      "get-task": getTask as ProxyHandler,
      "bulk-stop": bulkStop as ProxyHandler,
      ...handlers,
    },
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/**
 * Hooks for a test file served over HTTP: fresh tables and queues (and the `owners`' own queues), one active key of
 * `org-a`
 * (`key-a`), and the in-process API, closed after the file.
 */
export function useInProcessApi(
  key: string,
  owners: StackOwners = {},
): { readonly aws: LocalAws; readonly api: InProcessApi } {
  const state: { aws?: LocalAws; api?: InProcessApi } = {};
  beforeAll(async () => {
    state.aws = await provisionIsolatedStack(owners);
    await storeApiKey(state.aws, { key, organizationId: "org-a", keyId: "key-a" });
    state.api = await startInProcessApi(state.aws);
  });
  afterAll(async () => {
    await state.api?.close();
  });
  return {
    get aws() {
      if (!state.aws) throw new Error("useInProcessApi: used before beforeAll ran");
      return state.aws;
    },
    get api() {
      if (!state.api) throw new Error("useInProcessApi: used before beforeAll ran");
      return state.api;
    },
  };
}

export type InProcessApiOverrides = Parameters<typeof startInProcessApi>[1];

/**
 * Hooks for a test file that starts servers of its own (other throttling, a faulty handler):
 * fresh tables and queues with one active key of `org-a` (`key-a`); every server `serve` starts
 * is closed after the file.
 */
export function useInProcessServers(key: string): {
  readonly aws: LocalAws;
  serve(overrides?: InProcessApiOverrides): Promise<InProcessApi>;
} {
  const state: { aws?: LocalAws } = {};
  const servers: InProcessApi[] = [];
  beforeAll(async () => {
    state.aws = await provisionIsolatedStack();
    await storeApiKey(state.aws, { key, organizationId: "org-a", keyId: "key-a" });
  });
  afterAll(async () => {
    await Promise.all(servers.map((server) => server.close()));
  });
  const aws = () => {
    if (!state.aws) throw new Error("useInProcessServers: used before beforeAll ran");
    return state.aws;
  };
  return {
    get aws() {
      return aws();
    },
    async serve(overrides = {}) {
      const server = await startInProcessApi(aws(), overrides);
      servers.push(server);
      return server;
    },
  };
}

/** The two route styles: the documented one and the one the platform's SDK calls. */
export const routeStyles = {
  documented: {
    stop: (id: string) => ["POST", `/v1/tasks/${id}/stop`] as const,
    get: (id: string) => ["GET", `/v1/tasks/${id}`] as const,
  },
  compatibility: {
    stop: (id: string) => ["DELETE", `/agent-execution/${id}`] as const,
    get: (id: string) => ["GET", `/agent-execution/${id}/status`] as const,
  },
};
export type RouteStyle = keyof typeof routeStyles;
export const routeStyleNames = Object.keys(routeStyles) as RouteStyle[];

/** One request to the in-process API with a key; the status and the body as text. */
export async function callApi(api: InProcessApi, [method, path]: readonly [string, string], key: string | undefined) {
  const response = await fetch(`${api.url}${path}`, { method, headers: key ? { "x-api-key": key } : {} });
  return { status: response.status, text: await response.text() };
}
