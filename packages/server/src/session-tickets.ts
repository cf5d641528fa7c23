import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Principal } from '@mqtt-warden/core';
import { z } from 'zod';

/** What a ticket proves: the principal that authenticated a session, and the authenticator that proved it. */
export interface TicketContent {
  /** The session's principal, with the client id the ticket is bound to. */
  readonly principal: Principal;
  /** The name of the authenticator that allowed the login. */
  readonly authenticator: string;
}

export interface SessionTicketsOptions {
  /** HMAC-SHA-256 key, at least 32 bytes. Replicas that share it accept each other's tickets. */
  readonly key: Uint8Array;
  /** Tickets longer than this are not issued (the broker sends the ticket with every request). Default 2048. */
  readonly maxBytes?: number;
  /** Clock in ms; tests inject one. */
  readonly now?: () => number;
}

const VERSION = 'w1';
const MAC_BYTES = 32;
const MAC_CHARS = Math.ceil((MAC_BYTES * 4) / 3);

const rule = z.object({
  effect: z.enum(['allow', 'deny']),
  actions: z.array(z.enum(['publish', 'subscribe', 'receive'])),
  topics: z.array(z.string()),
  qos: z.array(z.union([z.literal(0), z.literal(1), z.literal(2)])).optional(),
  retain: z.boolean().optional(),
});

/** The signed payload: the principal without its client id (bound by the MAC instead), its authenticator, its expiry. */
const payloadSchema = z.object({
  a: z.string(),
  p: z.object({
    id: z.string(),
    username: z.string().optional(),
    claimedUsername: z.string().optional(),
    method: z.string(),
    roles: z.array(z.string()),
    groups: z.array(z.string()).optional(),
    attributes: z.record(z.string(), z.union([z.string(), z.array(z.string())])),
    superuser: z.boolean().optional(),
    expiresAt: z.number().optional(),
    rules: z.array(rule).optional(),
    remoteAddress: z.string().optional(),
    tls: z.boolean().optional(),
  }),
});

/**
 * Signed session tickets: a compact, HMAC-SHA-256 signed copy of the principal that authenticated a
 * session, bound to its client id and CONNECT username and expiring with the principal. A broker that
 * carries per-session attributes (EMQX `client_attrs`) sends the ticket back with every authorization
 * request, so a server that forgot the session (restart, eviction, another replica with the same key)
 * rebuilds exactly the principal that logged in, and nothing a client chose.
 *
 * @example
 * ```ts
 * const tickets = new SessionTickets({ key: randomBytes(32) });
 * const ticket = tickets.issue('dev-1', 'dev-1', principal, 'jwt');
 * tickets.verify(ticket!, 'dev-1', 'dev-1'); // { principal, authenticator: 'jwt' }
 * tickets.verify(ticket!, 'dev-2', 'dev-1'); // undefined: another client's ticket
 * ```
 */
export class SessionTickets {
  readonly #key: Uint8Array;
  readonly #maxBytes: number;
  readonly #now: () => number;

  constructor(options: SessionTicketsOptions) {
    if (options.key.byteLength < 32) throw new RangeError('a session ticket key needs at least 32 bytes');
    this.#key = options.key;
    this.#maxBytes = options.maxBytes ?? 2048;
    this.#now = options.now ?? Date.now;
  }

  /** A key for one process only: its tickets are refused after a restart and by other replicas. */
  static randomKey(): Uint8Array {
    return randomBytes(32);
  }

  /**
   * The ticket for a session, or `undefined` when the principal has already expired or its ticket would
   * exceed `maxBytes` (many token ACL rules): that session can then be resolved only from memory.
   */
  issue(
    clientId: string,
    username: string | undefined,
    principal: Principal,
    authenticator: string,
  ): string | undefined {
    if (principal.expiresAt !== undefined && principal.expiresAt <= this.#now()) return undefined;
    const { clientId: _bound, ...rest } = principal;
    const payload = Buffer.from(JSON.stringify({ a: authenticator, p: rest })).toString('base64url');
    const ticket = `${VERSION}.${payload}.${this.#mac(clientId, username, payload)}`;
    return ticket.length <= this.#maxBytes ? ticket : undefined;
  }

  /** What a ticket proves for this client id and username, or `undefined` if it is not ours, not theirs, or expired. */
  verify(ticket: string, clientId: string, username: string | undefined): TicketContent | undefined {
    if (ticket.length > this.#maxBytes) return undefined;
    const [version, payload, mac, extra] = ticket.split('.');
    if (version !== VERSION || payload === undefined || mac?.length !== MAC_CHARS || extra !== undefined) {
      return undefined;
    }
    const expected = Buffer.from(this.#mac(clientId, username, payload));
    if (!timingSafeEqual(expected, Buffer.from(mac))) return undefined;
    let parsed: z.infer<typeof payloadSchema>;
    try {
      parsed = payloadSchema.parse(JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')));
    } catch {
      return undefined;
    }
    const { p } = parsed;
    if (p.expiresAt !== undefined && p.expiresAt <= this.#now()) return undefined;
    return { principal: { ...(p as Omit<Principal, 'clientId'>), clientId }, authenticator: parsed.a };
  }

  /** Binds the payload to the session: JSON keeps client id and username apart whatever they contain. */
  #mac(clientId: string, username: string | undefined, payload: string): string {
    return createHmac('sha256', this.#key)
      .update(JSON.stringify([VERSION, clientId, username ?? null, payload]))
      .digest('base64url');
  }
}
