/**
 * What a defense keyed on: `user` (username from anywhere), `user-address` (username from one
 * address), `client` (client id), `address` (remote address; IPv6 by /64), `principal` (an
 * authenticated identity), `global` (the verification budget: this process's, or the fleet's with Redis).
 */
export type KeyKind = 'user' | 'user-address' | 'client' | 'address' | 'principal' | 'global';

/**
 * One thing a defense did, for metrics, logs and the audit trail. Holds no password or digest.
 *
 * - `lockout`: `refused: false` when a key was just locked (until `until`), `true` for an attempt
 *   answered by an existing lock (as a wrong password, with no verification).
 * - `rate-limited`: a connect or an authorization request over its limit was refused; `refused: false`
 *   (with `holdMs`) when a refused authorization request's reply was held instead: its key is being
 *   drained by refusals and is slowed before being refused.
 * - `storm-shed`: a new verification found the budget (this process's, or the fleet's with
 *   Redis) spent and was told to try later.
 *
 * @example
 * ```ts
 * const defenses = await createDefenses(config, {
 *   onEvent: (e) => e.kind === 'lockout' && !e.refused && console.warn(`locked ${e.key} ${e.subject}`),
 * });
 * ```
 */
export interface DefenseEvent {
  readonly kind: 'lockout' | 'rate-limited' | 'storm-shed';
  readonly key: KeyKind;
  /** The username, client id, address or principal id keyed on (at most 256 characters). */
  readonly subject: string;
  /** The remote address of the attempt, when known. */
  readonly address?: string;
  /** Until when (ms since the epoch) the key stays locked, limited or slowed (if it stops asking), when known. */
  readonly until?: number;
  readonly refused: boolean;
  /** How long the reply is held, on a slowed (`rate-limited`, `refused: false`) event. */
  readonly holdMs?: number;
}
