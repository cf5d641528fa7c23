import { ConfigError } from './errors.js';
import type { AuthOutcome, ConnectRequest, Principal } from './types.js';

/**
 * What an authenticator that proves a username (a store entry, a mapped claim or certificate field, a
 * PSK identity) does with the CONNECT username the client sent:
 * - `must-match`: it must equal the proven username; otherwise the connect is refused (`not-authorized`).
 *   The authenticator then proves usernames (`provesUsername`), and the broker's idea of the username
 *   (its own ACLs, logs, `${username}`) is the proven one.
 * - `claimed`: any CONNECT username is accepted and kept in `claimedUsername`, which grants nothing.
 */
export type ConnectUsernameMode = 'must-match' | 'claimed';

/**
 * The mode an authenticator runs with: `mode` as configured, defaulting to `must-match` when it proves a
 * username and to `claimed` when it does not. Throws a ConfigError for `must-match` without a proven
 * username: there would be nothing to match.
 *
 * @example
 * ```ts
 * const mode = connectUsernameMode(options.connectUsername, options.usernameClaim !== undefined, 'usernameClaim');
 * ```
 */
export function connectUsernameMode(
  mode: ConnectUsernameMode | undefined,
  provesUsername: boolean,
  mapping: string,
): ConnectUsernameMode {
  if (mode === 'must-match' && !provesUsername) {
    throw new ConfigError(`connectUsername "must-match" needs a username to match: set ${mapping}`);
  }
  return mode ?? (provesUsername ? 'must-match' : 'claimed');
}

/**
 * Settles a verified principal's username against the CONNECT username. `principal.username` must hold
 * only what the verifier proved (or be undefined). Under `must-match` a CONNECT username that differs
 * (absent included) denies `not-authorized`; otherwise the CONNECT username, when it differs, is kept
 * in `claimedUsername` and nothing grants by it.
 *
 * @example
 * ```ts
 * return applyConnectUsername({ ...principal, username: payload.preferred_username }, request, 'must-match');
 * ```
 */
export function applyConnectUsername(
  principal: Principal,
  request: ConnectRequest,
  mode: ConnectUsernameMode,
): AuthOutcome {
  const claimed = request.username;
  if (claimed === principal.username) return { outcome: 'allow', principal };
  if (mode === 'must-match') {
    return {
      outcome: 'deny',
      reason: 'not-authorized',
      message:
        principal.username === undefined
          ? 'these credentials prove no username: connect without one'
          : 'the username must be the one the credentials prove',
    };
  }
  return {
    outcome: 'allow',
    principal: claimed === undefined ? principal : { ...principal, claimedUsername: claimed },
  };
}
