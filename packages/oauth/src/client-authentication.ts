/** How a client authenticates to the authorization server (RFC 6749 §2.3.1). */
export type ClientAuthMethod = 'client_secret_basic' | 'client_secret_post';

/** Headers or body fields carrying client credentials. */
export interface ClientAuthentication {
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Readonly<Record<string, string>>;
}

/**
 * The request parts for `method`. For Basic, id and secret are form-urlencoded before base64, as
 * RFC 6749 §2.3.1 requires (secrets containing `:` or `%` otherwise break).
 *
 * @example
 * ```ts
 * clientAuthentication('client_secret_basic', 'broker', 's3cret').headers.authorization; // 'Basic YnJva2VyOnMzY3JldA=='
 * ```
 */
export function clientAuthentication(
  method: ClientAuthMethod,
  clientId: string,
  clientSecret: string,
): ClientAuthentication {
  if (method === 'client_secret_post') {
    return { headers: {}, body: { client_id: clientId, client_secret: clientSecret } };
  }
  const basic = Buffer.from(`${formEncode(clientId)}:${formEncode(clientSecret)}`).toString('base64');
  return { headers: { authorization: `Basic ${basic}` }, body: {} };
}

function formEncode(value: string): string {
  return new URLSearchParams([['', value]]).toString().slice(1);
}
