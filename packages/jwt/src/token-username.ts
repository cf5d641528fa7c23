import {
  type AuthOutcome,
  applyConnectUsername,
  ConfigError,
  type ConnectRequest,
  type ConnectUsernameMode,
  connectUsernameMode,
  type Principal,
} from '@mqtt-warden/core';
import type { TokenField } from './token-from-request.js';

/** How a token authenticator settles the CONNECT username; see {@link tokenUsername}. */
export interface TokenUsername {
  /** Whether every allowed principal's username equals the CONNECT username. */
  readonly provesUsername: boolean;
  /** The allow outcome for a principal whose username came from the token only, or a deny. */
  settle(principal: Principal, request: ConnectRequest): AuthOutcome;
}

/**
 * The CONNECT-username rule of a token authenticator (`jwt`, `oauth`): with a username claim, `must-match`
 * by default (see {@link ConnectUsernameMode}); without one, the CONNECT username is only claimed. A token
 * carried in the username field (`from: 'username'`) is a credential, not a name: it is neither matched
 * nor kept. `mapping` names the username-claim option in errors.
 *
 * @example
 * ```ts
 * const username = tokenUsername({ from, connectUsername, hasUsernameClaim: true }, 'usernameClaim');
 * return username.settle(claimsToPrincipal(payload, request, 'jwt', mapping), request);
 * ```
 */
export function tokenUsername(
  options: {
    readonly from: TokenField;
    readonly connectUsername: ConnectUsernameMode | undefined;
    readonly hasUsernameClaim: boolean;
  },
  mapping: string,
): TokenUsername {
  if (options.from === 'username') {
    if (options.connectUsername === 'must-match') {
      throw new ConfigError('connectUsername "must-match" cannot apply when the token is the username');
    }
    return {
      provesUsername: false,
      settle: (principal, request) =>
        applyConnectUsername(principal, { ...request, username: undefined }, 'claimed'),
    };
  }
  const mode = connectUsernameMode(options.connectUsername, options.hasUsernameClaim, mapping);
  return {
    provesUsername: mode === 'must-match',
    settle: (principal, request) => applyConnectUsername(principal, request, mode),
  };
}
