/**
 * The `iss` claim of a JWT before verification: only to decide which verifier a token belongs to,
 * never to trust it. Undefined when the token's payload is not a JSON object.
 */
export function unverifiedIssuer(token: string): unknown {
  try {
    const payload: unknown = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8'));
    return typeof payload === 'object' && payload !== null ? (payload as { iss?: unknown }).iss : undefined;
  } catch {
    return undefined;
  }
}
