import type { Principal, PrincipalRule } from '@mqtt-warden/core';
import { strictObject } from '@mqtt-warden/policy';
import { z } from 'zod';

/** A principal described briefly for tests; absent fields get sensible defaults (see {@link toPrincipal}). */
export interface Who {
  readonly id?: string;
  readonly username?: string;
  readonly clientId?: string;
  /** Auth method; default `password`. */
  readonly method?: string;
  readonly roles?: readonly string[];
  readonly groups?: readonly string[];
  readonly attributes?: Readonly<Record<string, string | readonly string[]>>;
  readonly superuser?: boolean;
  readonly tls?: boolean;
  readonly remoteAddress?: string;
  readonly rules?: readonly PrincipalRule[];
  readonly expiresAt?: number;
}

const list = z.array(z.string());
export const WhoSchema = strictObject({
  id: z.string().optional(),
  username: z.string().optional(),
  clientId: z.string().optional(),
  method: z.string().min(1).optional(),
  roles: list.optional(),
  groups: list.optional(),
  attributes: z.record(z.string(), z.union([z.string(), list])).optional(),
  superuser: z.boolean().optional(),
  tls: z.boolean().optional(),
  remoteAddress: z.string().optional(),
  rules: z
    .array(
      strictObject({
        effect: z.enum(['allow', 'deny']),
        actions: z.array(z.enum(['publish', 'subscribe', 'receive'])),
        topics: z.array(z.union([z.string(), strictObject({ eq: z.string() })])),
        qos: z.array(z.literal([0, 1, 2])).optional(),
        retain: z.boolean().optional(),
      }),
    )
    .optional(),
  expiresAt: z.number().optional(),
});

/**
 * Builds a full principal: `clientId` defaults to the username (or `test-client`), `id` to the username
 * or client id, `method` to `password`.
 *
 * @example
 * ```ts
 * toPrincipal({ username: 'dev-1', method: 'x509', attributes: { 'cert.cn': 'dev-1' } });
 * ```
 */
export function toPrincipal(who: Who): Principal {
  const clientId = who.clientId ?? who.username ?? 'test-client';
  return {
    ...who,
    id: who.id ?? who.username ?? clientId,
    clientId,
    method: who.method ?? 'password',
    roles: who.roles ?? [],
    attributes: who.attributes ?? {},
  };
}
