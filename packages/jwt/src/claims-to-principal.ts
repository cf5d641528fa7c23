import type { ConnectRequest, Principal, PrincipalRule } from '@mqtt-warden/core';
import type { JWTPayload } from 'jose';
import { type AclClaimOptions, parseAclClaim } from './acl-claim.js';
import { TokenError } from './token-error.js';

/** A top-level claim name, or a path into nested objects (e.g. `['realm_access', 'roles']`). */
export type ClaimPath = string | readonly string[];

/** How claims become a principal. */
export interface ClaimMapping {
  /**
   * Claim holding the principal's username (e.g. `preferred_username`); a token without it as a string is
   * refused. Without it the principal has no username: the CONNECT username proves nothing about a token.
   */
  readonly usernameClaim?: ClaimPath;
  /** Claim holding role names (array, or space-separated string). Default `roles`. */
  readonly rolesClaim?: ClaimPath;
  /** Claim holding group names. Default `groups`. */
  readonly groupsClaim?: ClaimPath;
  /**
   * Claim that makes the principal a superuser when truthy (EMQX coercion: `true`, `"true"`, numbers ≥ 1).
   * Off unless set: a superuser skips every topic check.
   */
  readonly superuserClaim?: ClaimPath;
  /** Claim holding an EMQX v1/v2 ACL; `false` ignores ACLs. Default `acl`. */
  readonly aclClaim?: ClaimPath | false;
  /** Told about each ACL allow left out because it cannot be expressed (see `parseAclClaim`). */
  readonly onAclRuleDropped?: (message: string) => void;
}

/**
 * Builds the principal for a verified token: `id` = `sub`, `username` from `usernameClaim` (none without
 * it; the CONNECT username is never used: see `applyConnectUsername`), roles and groups from claims, every scalar
 * or scalar-array claim as attribute `claims.NAME` (usable as `${claims.NAME}` in policies), the
 * superuser flag, `expiresAt` = `exp` × 1000, and the ACL claim as the principal's own rules.
 * Throws {@link TokenError} `ERR_TOKEN_ACL` when the ACL claim cannot be translated exactly, and
 * `ERR_TOKEN_CLAIM` when the username claim is configured but not a string. `parseAcl` translates the
 * ACL claim (default `parseAclClaim`; the JWT and OAuth authenticators pass their `AclClaimCache`).
 *
 * @example
 * ```ts
 * const principal = claimsToPrincipal(payload, request, 'jwt', { rolesClaim: ['realm_access', 'roles'] });
 * ```
 */
export function claimsToPrincipal(
  payload: JWTPayload & { readonly sub: string },
  request: ConnectRequest,
  method: string,
  mapping: ClaimMapping = {},
  parseAcl: (claim: unknown, options: AclClaimOptions) => readonly PrincipalRule[] = parseAclClaim,
): Principal {
  const attributes: Record<string, string | readonly string[]> = {};
  // for…in with an own-property check: no [name, value] arrays per claim, and an inherited
  // (polluted) Object.prototype member never becomes an attribute.
  for (const name in payload) {
    if (!Object.hasOwn(payload, name)) continue;
    const attribute = toAttribute(payload[name]);
    if (attribute !== undefined) attributes[attributeName(name)] = attribute;
  }
  const groups = claimAt(payload, mapping.groupsClaim ?? 'groups');
  const aclClaim = mapping.aclClaim === false ? undefined : claimAt(payload, mapping.aclClaim ?? 'acl');
  const username =
    mapping.usernameClaim === undefined ? undefined : usernameAt(payload, mapping.usernameClaim);
  // Built member by member, in the order of the Principal type, with absent members left out:
  // no temporary objects for the optional ones. Evaluation order (and so which error wins) is kept.
  const principal: Draft = { id: payload.sub, clientId: request.clientId };
  if (username !== undefined) principal.username = username;
  principal.method = method;
  principal.roles = names(claimAt(payload, mapping.rolesClaim ?? 'roles'), 'roles');
  if (groups !== undefined) principal.groups = names(groups, 'groups');
  principal.attributes = attributes;
  principal.superuser =
    mapping.superuserClaim !== undefined && truthy(claimAt(payload, mapping.superuserClaim));
  if (typeof payload.exp === 'number') principal.expiresAt = payload.exp * 1000;
  if (aclClaim !== undefined) principal.rules = parseAcl(aclClaim, { onDropped: mapping.onAclRuleDropped });
  principal.remoteAddress = request.transport.remoteAddress;
  principal.tls = request.transport.tls;
  return principal as Principal;
}

type Draft = { -readonly [K in keyof Principal]?: Principal[K] };

/** `claims.NAME` strings of the usual claim names, made once (a new key string costs a hash lookup). */
const ATTRIBUTE_NAMES = new Map<string, string>();
const ATTRIBUTE_NAMES_MAX = 256;

function attributeName(claim: string): string {
  let name = ATTRIBUTE_NAMES.get(claim);
  if (name === undefined) {
    name = `claims.${claim}`;
    // Claim names are chosen by the token's issuer: only a bounded number, of bounded length, is kept.
    if (ATTRIBUTE_NAMES.size < ATTRIBUTE_NAMES_MAX && claim.length <= 64) ATTRIBUTE_NAMES.set(claim, name);
  }
  return name;
}

function usernameAt(payload: JWTPayload, path: ClaimPath): string {
  const value = claimAt(payload, path);
  if (typeof value === 'string' && value !== '') return value;
  throw new TokenError('ERR_TOKEN_CLAIM', 'the token has no username claim (a non-empty string)');
}

/** The value at `path` in `payload`, or undefined. */
function claimAt(payload: JWTPayload, path: ClaimPath): unknown {
  if (typeof path === 'string') return payload[path];
  let value: unknown = payload;
  for (const key of path) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

function names(value: unknown, what: string): string[] {
  if (value === undefined || value === null) return [];
  if (typeof value === 'string') return value.split(' ').filter(Boolean);
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return [...value];
  throw new TokenError('ERR_TOKEN_CLAIM', `the ${what} claim must be a string or an array of strings`);
}

function toAttribute(value: unknown): string | readonly string[] | undefined {
  if (isScalar(value)) return String(value);
  if (Array.isArray(value) && value.every(isScalar)) return value.map(String);
  return undefined;
}

function isScalar(value: unknown): value is string | number | boolean {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean';
}

// EMQX's coercion of is_superuser (emqx.md §1.4).
function truthy(value: unknown): boolean {
  if (value === true) return true;
  if (typeof value === 'number') return value >= 1;
  if (typeof value === 'string')
    return value === 'true' || (/^\d+(\.\d+)?$/.test(value) && Number(value) >= 1);
  return false;
}
