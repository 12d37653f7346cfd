import { fromEnv } from "@aws-sdk/credential-provider-env";
import { type FromHttpOptions, fromHttp } from "@aws-sdk/credential-provider-http";
import { memoize } from "@smithy/core/config";
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from "@smithy/types";

/**
 * As the SDK's own chain: refresh five minutes before expiry, and never cache credentials that expire without
 * refreshing.
 */
const REFRESH_BEFORE_EXPIRY_MS = 5 * 60 * 1000;
const treatedAsExpired = (credentials: AwsCredentialIdentity) =>
  credentials.expiration !== undefined && credentials.expiration.getTime() - Date.now() < REFRESH_BEFORE_EXPIRY_MS;
const willNeedRefresh = (credentials: AwsCredentialIdentity) => credentials.expiration !== undefined;

/**
 * The credential chain of the deployed functions, put in place of the SDK's
 * `@aws-sdk/credential-provider-node` when they are bundled (infra/bundling.ts; local runs and
 * tests keep the SDK's own chain).
 *
 * Lambda hands a function its role's credentials in AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY /
 * AWS_SESSION_TOKEN; an environment that serves them over the container-credentials endpoint
 * instead (AWS_CONTAINER_CREDENTIALS_FULL_URI or _RELATIVE_URI) gets them from there. The SDK's
 * default chain also carries SSO, shared-file, process, web-identity and instance-metadata
 * providers with the STS and SSO clients they use: about 130 KiB of the stop function's bundle
 * and 10 ms of every cold start (`npm run bench`), for sources a Lambda function never has.
 */
export function defaultProvider(init: FromHttpOptions = {}): AwsCredentialIdentityProvider {
  // The source is chosen at the first call, not when a client is built: fromHttp() throws at once
  // when no endpoint is configured, and a function without credentials should fail its calls, not its import.
  return memoize(
    () => (process.env.AWS_ACCESS_KEY_ID ? fromEnv(init) : fromHttp(init))(),
    treatedAsExpired,
    willNeedRefresh,
  );
}
