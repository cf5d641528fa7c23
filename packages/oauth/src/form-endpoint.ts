import { ConfigError, UnavailableError } from '@mqtt-warden/core';
import { type ClientAuthMethod, clientAuthentication } from './client-authentication.js';

/** How {@link formEndpoint} reaches an authorization server endpoint. */
export interface FormEndpointOptions {
  readonly clientId: string;
  readonly clientSecret: string;
  /** Default `client_secret_basic`. */
  readonly clientAuth?: ClientAuthMethod;
  readonly timeoutMs: number;
}

/**
 * An authorization server endpoint (token, introspection) that takes form posts authenticated as this
 * client: the returned function POSTs `fields` with the client's credentials, asks for JSON, follows no
 * redirect and gives up after `timeoutMs`. `what` names the endpoint in errors.
 *
 * @throws {ConfigError} when `url` is not an http(s) URL; the returned function rejects with an
 *   UnavailableError when the endpoint cannot be reached in time.
 * @example
 * ```ts
 * const post = formEndpoint('https://idp.example.com/token', 'token endpoint', { clientId, clientSecret, timeoutMs: 10_000 });
 * const response = await post({ grant_type: 'client_credentials' });
 * ```
 */
export function formEndpoint(
  url: string | URL,
  what: string,
  options: FormEndpointOptions,
): (fields: Readonly<Record<string, string>>) => Promise<Response> {
  const endpoint = new URL(url);
  if (endpoint.protocol !== 'https:' && endpoint.protocol !== 'http:') {
    throw new ConfigError(`the ${what} must be an http(s) URL, got ${endpoint.protocol}`);
  }
  const auth = clientAuthentication(
    options.clientAuth ?? 'client_secret_basic',
    options.clientId,
    options.clientSecret,
  );
  return async (fields) => {
    try {
      return await fetch(endpoint, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
          ...auth.headers,
        },
        body: new URLSearchParams({ ...fields, ...auth.body }),
        redirect: 'manual',
        signal: AbortSignal.timeout(options.timeoutMs),
      });
    } catch (error) {
      const slow = error instanceof Error && error.name === 'TimeoutError';
      throw new UnavailableError(
        slow
          ? `the ${what} ${endpoint.origin} did not answer within ${options.timeoutMs} ms`
          : `the ${what} ${endpoint.origin} is unreachable: ${error instanceof Error ? error.message : error}`,
        { cause: error },
      );
    }
  };
}
