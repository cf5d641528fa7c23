import { WardenError } from '@mqtt-warden/core';
import type { ClientAuthMethod } from './client-authentication.js';
import { formEndpoint } from './form-endpoint.js';

/** Options of {@link createClientCredentials}. */
export interface ClientCredentialsOptions {
  /** The authorization server's token endpoint. */
  readonly tokenEndpoint: string | URL;
  readonly clientId: string;
  readonly clientSecret: string;
  /** Default `client_secret_basic`. */
  readonly clientAuth?: ClientAuthMethod;
  /** Space-separated scopes to ask for. */
  readonly scope?: string;
  /** RFC 8707 resource indicator: the MQTT broker's identifier (becomes the token's `aud`). */
  readonly resource?: string;
  /** A cached token is replaced once it is this close to expiry. Default 30,000 ms. */
  readonly refreshBeforeMs?: number;
  /** Default 10,000 ms. */
  readonly timeoutMs?: number;
  readonly now?: () => number;
}

/** An access token and when it expires (ms since the epoch). */
export interface AccessToken {
  readonly value: string;
  readonly expiresAt: number;
  readonly scope?: string;
}

export interface ClientCredentials {
  /** A token valid for at least `refreshBeforeMs`, fetching a new one when needed. */
  getToken(): Promise<AccessToken>;
  /** Forgets the cached token (e.g. after the broker refused it). */
  invalidate(): void;
}

/** The authorization server refused the token request (code `ERR_OAUTH_TOKEN_REQUEST`). */
export class TokenRequestError extends WardenError {
  /** The RFC 6749 `error` code, e.g. `invalid_client`, `invalid_scope`. */
  readonly oauthError?: string;

  constructor(message: string, oauthError?: string) {
    super('ERR_OAUTH_TOKEN_REQUEST', message);
    this.oauthError = oauthError;
  }
}

/**
 * Device side: obtains access tokens with the OAuth 2.0 client credentials grant and keeps one
 * cached until shortly before it expires. Present `(await credentials.getToken()).value` as the
 * MQTT password, and reconnect with a fresh one before `expiresAt` (see examples/oauth-device).
 *
 * @example
 * ```ts
 * const credentials = createClientCredentials({
 *   tokenEndpoint: 'https://idp.example.com/token', clientId: 'sensor-7', clientSecret,
 *   scope: 'mqtt:publish:sensors/sensor-7/temp', resource: 'urn:mqtt',
 * });
 * const client = mqtt.connect(url, { clientId: 'sensor-7', username: 'sensor-7', password: (await credentials.getToken()).value });
 * ```
 */
export function createClientCredentials(options: ClientCredentialsOptions): ClientCredentials {
  const post = formEndpoint(options.tokenEndpoint, 'token endpoint', {
    ...options,
    timeoutMs: options.timeoutMs ?? 10_000,
  });
  const now = options.now ?? Date.now;
  const refreshBeforeMs = options.refreshBeforeMs ?? 30_000;
  let cached: AccessToken | undefined;
  let pending: Promise<AccessToken> | undefined;

  async function request(): Promise<AccessToken> {
    const started = now();
    const response = await post({
      grant_type: 'client_credentials',
      ...(options.scope ? { scope: options.scope } : {}),
      ...(options.resource ? { resource: options.resource } : {}),
    });
    const json = (await response.json().catch(() => undefined)) as Record<string, unknown> | undefined;
    if (response.status !== 200) {
      const code = typeof json?.error === 'string' ? json.error : undefined;
      const detail = typeof json?.error_description === 'string' ? `: ${json.error_description}` : '';
      throw new TokenRequestError(
        `the token endpoint refused the request (HTTP ${response.status}${code ? ` ${code}` : ''}${detail})`,
        code,
      );
    }
    if (typeof json?.access_token !== 'string' || typeof json.expires_in !== 'number') {
      throw new TokenRequestError('the token response lacks access_token or expires_in');
    }
    return {
      value: json.access_token,
      expiresAt: started + json.expires_in * 1000,
      ...(typeof json.scope === 'string' ? { scope: json.scope } : {}),
    };
  }

  return {
    async getToken() {
      if (cached && cached.expiresAt - refreshBeforeMs > now()) return cached;
      pending ??= request()
        .then((token) => {
          cached = token;
          return token;
        })
        .finally(() => {
          pending = undefined;
        });
      return pending;
    },
    invalidate() {
      cached = undefined;
    },
  };
}
