import { createHash } from 'node:crypto';
import {
  CoarseClock,
  type ConnectRequest,
  type Principal,
  type PrincipalQuery,
  type PrincipalResolver,
} from '@mqtt-warden/core';
import { type CredentialStore, userPrincipal } from '@mqtt-warden/password';
import type { RegistryStore, SessionRecord } from '@mqtt-warden/registry';
import { REGISTRY_DEVICE_ATTRIBUTE } from './registry-credentials.js';
import { SessionTable } from './session-table.js';
import type { SessionTickets } from './session-tickets.js';

export interface PrincipalDirectoryOptions {
  /** The credential store of the chain's password authenticator. */
  readonly store?: CredentialStore;
  /** The name of the authenticator whose principals are the store's users: their sessions follow store changes. */
  readonly storeAuthenticator?: string;
  /**
   * True when every authenticator of the chain proves usernames ({@link Authenticator.provesUsername}):
   * a broker's username then names a proven identity, and a forgotten session of a store user may be
   * rebuilt from its entry. Default false: a forgotten session is rebuilt only from a ticket.
   */
  readonly provesUsernames?: boolean;
  /** Signs and checks the session tickets handed to brokers that carry session attributes (EMQX). */
  readonly tickets?: SessionTickets;
  /** The session attribute (EMQX `client_attrs` key) that carries the ticket. Default `warden_session`. */
  readonly ticketAttribute?: string;
  /** Bound of the remembered sessions, in (estimated) bytes. Default 128 MiB (about 110,000 token sessions of ~1.2 KB). */
  readonly maxBytes?: number;
  /** Optional bound in entries. */
  readonly max?: number;
  /** A session unused this long is forgotten; every use restarts it, never past the principal's `expiresAt`. Default 24 h. */
  readonly ttlMs?: number;
  /**
   * Shared sessions (the registry): every login is also written there, and a session this process does
   * not remember is read from there, so any replica answers for a session another one authenticated.
   */
  readonly shared?: SharedSessions;
  /** Clock in ms; tests inject one. */
  readonly now?: () => number;
}

/** Where sessions are shared between replicas, and how one of a registry device is checked again. */
export interface SharedSessions {
  readonly store: Pick<RegistryStore, 'putSession' | 'getSession' | 'deleteSession'>;
  /**
   * The principal a shared session of a registry device holds now (its device may have changed since the
   * login), or `undefined` when the device may no longer use it.
   */
  revalidate(record: SessionRecord): Promise<Principal | undefined>;
}

/** One remembered session: the principal that authenticated it and what proved it. */
interface Session {
  readonly principal: Principal;
  /** The authenticator that allowed the login (or that the rebuild relied on). */
  readonly authenticator: string;
  /** The broker's username and what identity the session holds, for {@link PrincipalDirectory} name lookups. */
  readonly name: string | undefined;
  readonly identity: string;
  /** The store generation a store user's principal was built from. */
  readonly generation: number;
  readonly key: string;
  /** The registry device whose changes end the session here (it is then checked again from the shared record). */
  readonly deviceId: string | undefined;
  /** What this replica last wrote to the shared sessions for this key, while it may be relied on. */
  written?: Written;
}

/** A shared-session write this replica made: a login proving the same again need not repeat it. */
interface Written {
  /** SHA-256 of the authenticator and the whole principal (identity, roles, attributes, expiry, address). */
  readonly digest: string;
  readonly at: number;
  readonly expiresAt: number;
}

/** The sessions remembered under one broker username that share an identity. */
interface NameIdentity {
  count: number;
  latest: Session;
  /** The principal answered for the name alone (client id `''`), built once per store generation. */
  answer?: { readonly principal: Principal; readonly generation: number };
}

/** `Date.now()` as a {@link CoarseClock} reads it: at most 100 ms behind. */
function coarseNow(): () => number {
  const clock = new CoarseClock(100);
  return () => clock.now();
}

/** Fixed overhead per session (LRU slots, objects, index entries), added to the sizes of its strings. */
const ENTRY_OVERHEAD_BYTES = 512;
/** What a {@link Written} mark adds to a session with shared sessions (object, 44-char digest, numbers). */
const WRITTEN_MARK_BYTES = 160;

/**
 * The server's {@link PrincipalResolver}: answers "which principal authenticated this session?" for
 * authorization requests that carry only username and client id (and, for EMQX, the attributes the
 * broker keeps for the session). In order:
 *
 * 1. the principal remembered from the session's login through this server (sliding expiry while used,
 *    never past the principal's `expiresAt`; a store user's principal follows changes to the store);
 * 2. a session ticket the server signed at login and the broker carries (EMQX `client_attrs`), bound to
 *    the client id and username and expiring with the credential;
 * 3. the store entry of the username, only when every authenticator proves usernames;
 *
 * otherwise `undefined` (an unknown session, refused by the adapters). A request without a client id
 * (go-auth's superuser check) is answered only when every remembered session of that username holds
 * the same identity. A name alone never finds a principal the client did not prove.
 *
 * @example
 * ```ts
 * const directory = new PrincipalDirectory({ store, storeAuthenticator: 'password', provesUsernames: true });
 * const result = await guard.authenticate(request);
 * if (result.ok) directory.remember(request, result.principal, result.authenticator);
 * await app.register(emqxPlugin, { guard, resolver: directory });
 * ```
 */
export class PrincipalDirectory implements PrincipalResolver {
  readonly #store: CredentialStore | undefined;
  readonly #storeAuthenticator: string | undefined;
  readonly #provesUsernames: boolean;
  readonly #tickets: SessionTickets | undefined;
  readonly #ticketAttribute: string;
  readonly #ttlMs: number;
  readonly #maxBytes: number;
  readonly #now: () => number;
  readonly #sessions: SessionTable<Session>;
  /** Broker username → identity → the sessions holding it. Mirrors #sessions through its dispose callback. */
  readonly #names = new Map<string, Map<string, NameIdentity>>();
  /** Registry device id → keys of its sessions. Mirrors #sessions through its dispose callback. */
  readonly #devices = new Map<string, Set<string>>();
  readonly #shared: SharedSessions | undefined;
  /** Bumped when the store changes: store users' sessions are then checked against it again. */
  #generation = 0;

  constructor(options: PrincipalDirectoryOptions = {}) {
    this.#store = options.store;
    this.#storeAuthenticator = options.storeAuthenticator;
    this.#provesUsernames = options.provesUsernames === true;
    this.#tickets = options.tickets;
    this.#ticketAttribute = options.ticketAttribute ?? 'warden_session';
    this.#ttlMs = options.ttlMs ?? 86_400_000;
    this.#maxBytes = options.maxBytes ?? 128 * 1024 * 1024;
    this.#now = options.now ?? Date.now;
    this.#shared = options.shared;
    this.#sessions = new SessionTable<Session>({
      maxBytes: this.#maxBytes,
      ...(options.max === undefined ? {} : { max: options.max }),
      // The table reads the time on every lookup (expiry, then the sliding TTL): a clock at most 100 ms
      // behind spares a call into C++ per request. Exact when `now` is given (tests). Not for the
      // principal's expiresAt, which is checked against `now` itself.
      now: options.now ?? coarseNow(),
      dispose: (session, _key, reason) => this.#unindex(session, reason === 'set'),
    });
    this.#store?.onChange(() => this.#generation++);
  }

  /**
   * Remembers the principal that authenticated the session `request` opened (a successful login), and
   * with shared sessions writes it to the store before resolving (so the broker's next request, to any
   * replica, finds it). A failed write leaves the session known here only: other replicas refuse it.
   *
   * A reconnect that proves the same principal again (same authenticator, identical principal) is not
   * written again while the record this replica wrote has more than half its lifetime left: the store
   * already holds exactly that. The mark of that write lives in the session, so it goes wherever the
   * session goes: evicted, forgotten on a change to its device (the store may have deleted the record),
   * dropped on `resync`, on a store change (a newer generation) and when a read here deleted the record.
   */
  async remember(request: ConnectRequest, principal: Principal, authenticator: string): Promise<void> {
    const key = sessionKey(request.username, request.clientId);
    const previous = this.#sessions.peek(key);
    const session = this.#put(key, request.username, principal, authenticator);
    if (!this.#shared) return;
    if (!session) {
      await this.#shared.store.deleteSession(request.username ?? '', request.clientId);
      return;
    }
    const now = this.#now();
    const digest = createHash('sha256')
      .update(JSON.stringify([authenticator, principal]))
      .digest('base64');
    const written = previous?.generation === session.generation ? previous.written : undefined;
    if (written?.digest === digest && written.expiresAt - now > (written.expiresAt - written.at) / 2) {
      session.written = written;
      return;
    }
    const left = principal.expiresAt === undefined ? this.#ttlMs : principal.expiresAt - now;
    const expiresAt = now + Math.min(this.#ttlMs, left);
    await this.#shared.store.putSession({
      username: request.username ?? '',
      clientId: request.clientId,
      principal,
      authenticator,
      ...(session.deviceId === undefined ? {} : { deviceId: session.deviceId }),
      expiresAt: new Date(expiresAt),
    });
    session.written = { digest, at: now, expiresAt };
  }

  /**
   * Forgets the sessions of a registry device here (it changed): the next request of each is answered
   * from the shared record, checked against the device again.
   */
  forgetDevice(deviceId: string): void {
    const keys = this.#devices.get(deviceId);
    if (!keys) return;
    for (const key of [...keys]) this.#sessions.delete(key);
  }

  /** The signed ticket of a session just remembered, for EMQX to carry in `client_attrs`. */
  attributesFor(request: ConnectRequest, principal: Principal): Readonly<Record<string, string>> | undefined {
    if (!this.#tickets) return undefined;
    const session = this.#sessions.peek(sessionKey(request.username, request.clientId));
    const authenticator = session?.principal === principal ? session.authenticator : '';
    const ticket = this.#tickets.issue(request.clientId, request.username, principal, authenticator);
    return ticket === undefined ? undefined : { [this.#ticketAttribute]: ticket };
  }

  /**
   * A remembered, current session is answered synchronously: it is what nearly every authorization
   * request asks for, and a promise chain per request cost more than the lookup itself.
   */
  resolve(query: PrincipalQuery): Principal | undefined | Promise<Principal | undefined> {
    if (query.clientId === undefined) return this.#byName(query.username);
    const key = sessionKey(query.username, query.clientId);
    const session = this.#sessions.get(key);
    if (session === undefined) return this.#unremembered(key, query, query.clientId);
    const { principal } = session;
    if (principal.expiresAt !== undefined && principal.expiresAt <= this.#now()) {
      this.#sessions.delete(key);
      return this.#unremembered(key, query, query.clientId);
    }
    if (!this.#fromStore(session) || session.generation === this.#generation) return principal;
    return this.#refreshed(key, session, query, query.clientId);
  }

  /** How many sessions are remembered, and their estimated size in bytes. */
  stats(): { readonly sessions: number; readonly bytes: number } {
    return { sessions: this.#sessions.size, bytes: this.#sessions.bytes };
  }

  clear(): void {
    this.#sessions.clear();
  }

  /** A store user's session after the store changed: rebuilt from its current entry, else as if forgotten. */
  async #refreshed(
    key: string,
    session: Session,
    query: PrincipalQuery,
    clientId: string,
  ): Promise<Principal | undefined> {
    const { principal } = session;
    const rebuilt = await this.#fromEntry(principal.username, principal.clientId, principal);
    if (rebuilt) {
      this.#put(key, session.name, rebuilt, session.authenticator);
      return rebuilt;
    }
    this.#sessions.delete(key);
    return this.#unremembered(key, query, clientId);
  }

  /** A session not remembered here (or no longer valid): from the shared store, else rebuilt from what is proven. */
  async #unremembered(key: string, query: PrincipalQuery, clientId: string): Promise<Principal | undefined> {
    return (await this.#fromShared(key, query.username, clientId)) ?? this.#rebuild(key, query, clientId);
  }

  /** A session another replica (or this one before a restart) authenticated, from the shared store. */
  async #fromShared(
    key: string,
    username: string | undefined,
    clientId: string,
  ): Promise<Principal | undefined> {
    if (!this.#shared) return undefined;
    const record = await this.#shared.store.getSession(username ?? '', clientId);
    if (!record || record.expiresAt.getTime() <= this.#now()) return undefined;
    // Checked against what this replica knows now: a store user's current entry, a registry device's state.
    const principal =
      record.authenticator === this.#storeAuthenticator
        ? await this.#fromEntry(record.principal.username, clientId, record.principal)
        : record.deviceId === undefined
          ? record.principal
          : await this.#shared.revalidate(record);
    if (!principal) {
      await this.#shared.store.deleteSession(username ?? '', clientId);
      return undefined;
    }
    this.#put(key, username, principal, record.authenticator);
    return principal;
  }

  /** A forgotten session, from what is still proven: a ticket we signed, or a username every authenticator proves. */
  async #rebuild(key: string, query: PrincipalQuery, clientId: string): Promise<Principal | undefined> {
    const ticket = query.attributes?.[this.#ticketAttribute];
    const content =
      ticket === undefined ? undefined : this.#tickets?.verify(ticket, clientId, query.username);
    if (content) {
      const { principal, authenticator } = content;
      const rebuilt =
        authenticator === this.#storeAuthenticator
          ? await this.#fromEntry(principal.username, clientId, principal)
          : principal;
      if (rebuilt) this.#put(key, query.username, rebuilt, authenticator);
      return rebuilt;
    }
    if (!this.#provesUsernames || this.#storeAuthenticator === undefined) return undefined;
    const rebuilt = await this.#fromEntry(query.username, clientId, { remoteAddress: query.remoteAddress });
    if (rebuilt) this.#put(key, query.username, rebuilt, this.#storeAuthenticator);
    return rebuilt;
  }

  /** The principal for a username alone: only when every remembered session of it holds one identity. */
  async #byName(name: string | undefined): Promise<Principal | undefined> {
    if (name === undefined) return undefined;
    const identities = this.#names.get(name);
    if (identities === undefined) {
      // Nobody remembered: only a username every authenticator proves names its store entry.
      if (!this.#provesUsernames || this.#storeAuthenticator === undefined) return undefined;
      return this.#fromEntry(name, '', {});
    }
    if (identities.size !== 1) return undefined;
    const identity = identities.values().next().value as NameIdentity;
    const { latest } = identity;
    if (latest.principal.expiresAt !== undefined && latest.principal.expiresAt <= this.#now())
      return undefined;
    const generation = this.#fromStore(latest) ? this.#generation : latest.generation;
    if (identity.answer?.generation !== generation) {
      const principal = this.#fromStore(latest)
        ? await this.#fromEntry(latest.principal.username, '', {})
        : { ...latest.principal, clientId: '', remoteAddress: undefined };
      if (principal === undefined) return undefined;
      identity.answer = { principal, generation };
    }
    return identity.answer.principal;
  }

  /** A store user's principal from its current entry; `undefined` when the user is gone or disabled. */
  async #fromEntry(
    username: string | undefined,
    clientId: string,
    connection: { readonly remoteAddress?: string; readonly tls?: boolean },
  ): Promise<Principal | undefined> {
    if (this.#store === undefined || username === undefined) return undefined;
    const entry = await this.#store.get(username);
    if (!entry || entry.disabled) return undefined;
    // A name alone (client id '') is not a connection; any other client id must be one the user may use.
    if (clientId !== '' && entry.clientIds && !entry.clientIds.includes(clientId)) return undefined;
    return userPrincipal(entry, { clientId, remoteAddress: connection.remoteAddress, tls: connection.tls });
  }

  #fromStore(session: Session): boolean {
    return this.#storeAuthenticator !== undefined && session.authenticator === this.#storeAuthenticator;
  }

  #put(
    key: string,
    name: string | undefined,
    principal: Principal,
    authenticator: string,
  ): Session | undefined {
    const now = this.#now();
    const left = principal.expiresAt === undefined ? this.#ttlMs : principal.expiresAt - now;
    // Whatever is not remembered, an earlier session under the same names must not answer for it.
    if (left <= 0) {
      this.#sessions.delete(key);
      return undefined;
    }
    const identity = JSON.stringify([
      authenticator,
      principal.id,
      principal.method,
      principal.username ?? null,
      principal.superuser === true,
      principal.roles,
      principal.groups ?? null,
      principal.attributes,
      principal.rules ?? null,
    ]);
    const size =
      ENTRY_OVERHEAD_BYTES +
      (this.#shared ? WRITTEN_MARK_BYTES : 0) +
      2 * (key.length + identity.length + JSON.stringify(principal).length);
    // An entry larger than the whole directory would be refused by the cache after indexing it.
    if (size > this.#maxBytes) {
      this.#sessions.delete(key);
      return undefined;
    }
    const device = principal.attributes[REGISTRY_DEVICE_ATTRIBUTE];
    const deviceId = typeof device === 'string' ? device : undefined;
    const session: Session = {
      principal,
      authenticator,
      name,
      identity,
      generation: this.#generation,
      key,
      deviceId,
    };
    if (name !== undefined) {
      let identities = this.#names.get(name);
      if (identities === undefined) {
        identities = new Map();
        this.#names.set(name, identities);
      }
      const held = identities.get(identity);
      if (held) {
        held.count++;
        held.latest = session;
      } else identities.set(identity, { count: 1, latest: session });
    }
    const previous = this.#sessions.peek(key)?.deviceId;
    if (previous !== undefined && previous !== deviceId) this.#unindexDevice(previous, key);
    this.#sessions.set(key, session, size, Math.min(this.#ttlMs, left));
    if (deviceId !== undefined) {
      let keys = this.#devices.get(deviceId);
      if (keys === undefined) {
        keys = new Set();
        this.#devices.set(deviceId, keys);
      }
      keys.add(key);
    }
    return session;
  }

  #unindexDevice(deviceId: string, key: string): void {
    const keys = this.#devices.get(deviceId);
    if (!keys) return;
    keys.delete(key);
    if (keys.size === 0) this.#devices.delete(deviceId);
  }

  #unindex(session: Session, replaced: boolean): void {
    // A replaced session's key is indexed again for its successor (see #put).
    if (session.deviceId !== undefined && !replaced) this.#unindexDevice(session.deviceId, session.key);
    if (session.name === undefined) return;
    const identities = this.#names.get(session.name);
    const held = identities?.get(session.identity);
    if (!identities || !held) return;
    if (--held.count > 0) return;
    identities.delete(session.identity);
    if (identities.size === 0) this.#names.delete(session.name);
  }
}

/**
 * Sessions are keyed by what the broker reports: the CONNECT username and the client id. The username's
 * length comes first, so no other pair (and no missing username, `-`) gives the same key.
 */
function sessionKey(username: string | undefined, clientId: string): string {
  return username === undefined ? `-${clientId}` : `${username.length}:${username}${clientId}`;
}
