import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { defaultProvider } from "../../../lib/aws/lambda-credentials.js";

/** A container-credentials endpoint that hands out credentials expiring after `lifetimeMs`. */
function credentialsEndpoint() {
  const state = { requests: 0, lifetimeMs: 60 * 60 * 1000 };
  const server: Server = createServer((_request, response) => {
    state.requests += 1;
    response.setHeader("content-type", "application/json");
    response.end(
      JSON.stringify({
        AccessKeyId: `ASIA${state.requests}`,
        SecretAccessKey: "container-secret",
        Token: "container-token",
        Expiration: new Date(Date.now() + state.lifetimeMs).toISOString(),
      }),
    );
  });
  return { server, state, url: () => `http://127.0.0.1:${(server.address() as AddressInfo).port}/credentials` };
}

describe("the deployed functions' credential chain", () => {
  const endpoint = credentialsEndpoint();
  beforeAll(() => new Promise<void>((resolve) => endpoint.server.listen(0, "127.0.0.1", resolve)));
  afterAll(() => new Promise<void>((resolve) => endpoint.server.close(() => resolve())));
  afterEach(() => {
    vi.unstubAllEnvs();
    endpoint.state.requests = 0;
    endpoint.state.lifetimeMs = 60 * 60 * 1000;
  });

  it("takes the role's credentials from the environment, as Lambda provides them", async () => {
    vi.stubEnv("AWS_ACCESS_KEY_ID", "AKIAENVIRONMENT");
    vi.stubEnv("AWS_SECRET_ACCESS_KEY", "environment-secret");
    vi.stubEnv("AWS_SESSION_TOKEN", "environment-token");
    vi.stubEnv("AWS_CONTAINER_CREDENTIALS_FULL_URI", endpoint.url());

    const credentials = await defaultProvider()();

    expect(credentials).toMatchObject({
      accessKeyId: "AKIAENVIRONMENT",
      secretAccessKey: "environment-secret",
      sessionToken: "environment-token",
    });
    expect(endpoint.state.requests).toBe(0);
  });

  it("falls back to the container-credentials endpoint, fetching once while the credentials stay fresh", async () => {
    vi.stubEnv("AWS_ACCESS_KEY_ID", undefined);
    vi.stubEnv("AWS_CONTAINER_CREDENTIALS_FULL_URI", endpoint.url());
    const provider = defaultProvider();

    const [first, second] = [await provider(), await provider()];

    expect(first).toMatchObject({ accessKeyId: "ASIA1", sessionToken: "container-token" });
    expect(second.accessKeyId).toBe("ASIA1");
    expect(endpoint.state.requests).toBe(1);
  });

  it("fetches again while the credentials are within five minutes of expiring, then keeps fresh ones", async () => {
    vi.stubEnv("AWS_ACCESS_KEY_ID", undefined);
    vi.stubEnv("AWS_CONTAINER_CREDENTIALS_FULL_URI", endpoint.url());
    endpoint.state.lifetimeMs = 4 * 60 * 1000;
    const provider = defaultProvider();
    const expiring = await provider();
    const fetchedWhileExpiring = endpoint.state.requests;

    endpoint.state.lifetimeMs = 60 * 60 * 1000;
    const renewed = await provider();
    const kept = await provider();

    expect(renewed.accessKeyId).not.toBe(expiring.accessKeyId);
    expect(endpoint.state.requests).toBe(fetchedWhileExpiring + 1);
    expect(kept.accessKeyId).toBe(renewed.accessKeyId);
  });

  it("fails the call, not its creation, when there is no source at all", async () => {
    vi.stubEnv("AWS_ACCESS_KEY_ID", undefined);
    vi.stubEnv("AWS_CONTAINER_CREDENTIALS_FULL_URI", undefined);
    vi.stubEnv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", undefined);

    const provider = defaultProvider();

    await expect(provider()).rejects.toThrow(/credential/i);
  });
});
