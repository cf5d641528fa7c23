import type { DenyReason } from '@mqtt-warden/core';

/**
 * The MQTT 3.1.1 CONNACK return code for a refused connect: 3 (server unavailable) when a backend or
 * the guard itself failed, so the client retries later; 4 (bad user name or password) when the
 * credentials were checked and found wrong or expired; 5 (not authorized) otherwise.
 *
 * @example
 * ```ts
 * connackReturnCode('bad-credentials'); // 4
 * ```
 */
export function connackReturnCode(reason: DenyReason): 3 | 4 | 5 {
  switch (reason) {
    case 'unavailable':
    case 'error':
      return 3;
    case 'bad-credentials':
    case 'expired':
      return 4;
    case 'not-authorized':
    case 'no-authenticator':
      return 5;
  }
}
