import type { ConnectRequest } from '@mqtt-warden/core';

/** The CONNECT field that carries the token. */
export type TokenField = 'password' | 'username';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The token a client presented in `field`, or undefined when the field is absent, empty or not UTF-8
 * (tokens are ASCII, so such a field is not a token).
 *
 * @example
 * ```ts
 * const token = tokenFromRequest(request, 'password');
 * ```
 */
export function tokenFromRequest(request: ConnectRequest, field: TokenField): string | undefined {
  if (field === 'username') return request.username || undefined;
  if (!request.password || request.password.length === 0) return undefined;
  try {
    return utf8.decode(request.password);
  } catch {
    return undefined;
  }
}
