import {
  type AccessRequest,
  type Decision,
  type Guard,
  type Principal,
  type QoS,
  ReplyHolds,
} from '@mqtt-warden/core';
import type { Defenses } from '@mqtt-warden/defenses';
import { matchTopic } from '@mqtt-warden/topic';
import type { AedesOptions, Client } from 'aedes';
import { type ConnectRequestOptions, connectRequestOf, remoteAddressOf } from './connect-request.js';
import { AuthenticationFailedError, ConnectRefusedError, NotAuthorizedError } from './errors.js';

/** What `preConnect` knows before any credential is checked. */
export interface PreConnectInfo {
  /** As sent in CONNECT (`''` when the client let the broker choose). */
  readonly clientId: string;
  readonly username?: string;
  readonly remoteAddress?: string;
  readonly client: Client;
}

export interface WardenHooksOptions extends ConnectRequestOptions {
  /**
   * Client ids allowed to connect, checked in `preConnect` before any crypto; all when absent.
   * A refused client is disconnected without CONNACK.
   */
  readonly clientId?: RegExp | ((clientId: string) => boolean);
  /**
   * A cheap check before authentication (rate limits, address filters). Anything but `true`, or a
   * throw, disconnects the client without CONNACK.
   */
  readonly preConnect?: (info: PreConnectInfo) => boolean | Promise<boolean>;
  /**
   * Publish and receive decisions remembered per client (and per QoS and retain for publishes) until the
   * policy changes; default 1,024 topics each. Remembered decisions skip the guard, so its audit sink
   * sees each one once per client and policy version; 0 sends every check to the guard.
   */
  readonly decisionCacheSize?: number;
  /**
   * Bytes of topic strings those remembered decisions may hold per client, all actions together
   * (default 64 KiB, counted at two bytes a character); past it the client's decisions start afresh.
   */
  readonly decisionCacheBytes?: number;
  /**
   * Brute-force lockout, connect rate limits and storm control (see `@mqtt-warden/defenses`) in front of
   * `authenticate`, keyed on the CONNECT username and client id and the socket's address. A locked-out
   * CONNECT gets CONNACK 4, as a wrong password does, with no hash verification; a rate-limited or shed
   * one CONNACK 3 (server unavailable). A SUBSCRIBE is limited as an authorization request: a client
   * that keeps subscribing to what it was refused has its SUBACK held (slowed), then gets 0x80 for every
   * filter until its bucket refills; other clients are not delayed. Publish and receive checks are
   * answered from the per-client decisions and are not rate limited here (a refused publish closes the
   * connection, so it cannot be asked again on it).
   */
  readonly defenses?: Defenses;
  /**
   * Follow a source of identity changes, such as a device registry's change feed, so that revocation
   * reaches connected clients: see {@link PrincipalChanges}.
   */
  readonly changes?: PrincipalChanges;
  /** Clock in ms; tests inject one. */
  readonly now?: () => number;
}

/**
 * One change of a change feed. `RegistryChange` of `@mqtt-warden/registry` fits: `deviceId` names the
 * device whose clients are revalidated (principal id, or its `device.id` attribute); `kind: 'resync'`
 * (the feed was interrupted) revalidates every client; other changes are ignored (a policy change
 * arrives through the guard's authorizer).
 */
export interface PrincipalChange {
  readonly kind: string;
  readonly deviceId?: string;
  /** Set when one of the device's credentials changed (added or revoked). */
  readonly credentialId?: string;
}

/**
 * A change source and how to revalidate a connected principal after a change. Structurally typed, so the
 * Aedes adapter depends on no store: pass `{ source: store, revalidate }` with a `RegistryStore`.
 */
export interface PrincipalChanges {
  readonly source: { onChange(listener: (change: PrincipalChange) => void): () => void };
  /**
   * The principal as it is now: the same or an updated one (new roles, attributes) keeps the client
   * connected, its remembered decisions dropped and its subscriptions re-checked; `undefined` (device
   * deleted, disabled, credential revoked) disconnects it without publishing its will. A throw or
   * rejection disconnects too: a change that cannot be checked never keeps a grant.
   */
  readonly revalidate: (
    principal: Principal,
    change: PrincipalChange,
  ) => Principal | undefined | Promise<Principal | undefined>;
}

type Hook<K extends keyof AedesOptions> = NonNullable<AedesOptions[K]>;

/** The Aedes hooks backed by a guard, plus access to the principal of each client. */
export interface WardenHooks {
  readonly preConnect: Hook<'preConnect'>;
  readonly authenticate: Hook<'authenticate'>;
  readonly authorizePublish: Hook<'authorizePublish'>;
  readonly authorizeSubscribe: Hook<'authorizeSubscribe'>;
  readonly authorizeForward: Hook<'authorizeForward'>;
  /** The principal the guard authenticated for a connected client. */
  principalOf(client: Client): Principal | undefined;
  /** Stops expiry timers and policy-change notifications (call when the broker closes). */
  close(): void;
}

interface Will {
  readonly topic: string;
  readonly qos?: QoS;
  readonly retain?: boolean;
}

interface ClientState {
  readonly client: Client;
  principal: Principal;
  /** Set when a revalidation refused the principal: nothing more is allowed, the will included. */
  revoked: boolean;
  /** Counts revalidations started, so an older answer does not overwrite a newer one. */
  revalidations: number;
  /** Decisions valid for one policy version: receive by topic, publish by topic at `qos * 2 + retain`. */
  readonly receive: Map<string, boolean>;
  readonly publish: readonly Map<string, boolean>[];
  /** Counted bytes of the topics in `receive` and `publish`. */
  bytes: number;
  version: number;
  timer?: NodeJS.Timeout;
}

/** The parts of an Aedes 1.x client the hooks use that its types leave out. */
interface ClientInternals {
  /** Active subscriptions by filter (restored ones included once authorized). */
  readonly subscriptions: Readonly<Record<string, unknown>>;
  readonly broker: {
    readonly persistence: { removeSubscriptions(client: Client, topics: string[]): Promise<unknown> };
  };
}

// A remembered decision's cost besides its topic's characters (map entry, string header).
const ENTRY_BYTES = 48;

const SYS_PREFIX = '$SYS/';
// setTimeout fires at once for delays above 2^31 - 1 ms; longer expiries are reached in steps.
const MAX_TIMER_MS = 2 ** 31 - 1;
/** Labels this adapter's audit events. */
const AEDES = { adapter: 'aedes' } as const;
/** A subscription refused before any policy is asked (unknown or revoked client, shared filter). */
const REFUSED: Decision = { allowed: false, reason: 'default' };

/**
 * Aedes 1.x hooks that put a {@link Guard} in front of every connect, publish, subscription and
 * delivery. Pass them to `Aedes.createBroker` (or use {@link attachGuard}).
 *
 * - `preConnect`: client-id allowlist and your cheap checks; a refusal closes without CONNACK.
 * - `authenticate`: the guard's authenticator chain on the CONNECT and the connection (TLS, peer
 *   certificates, TLS-PSK identity, address); CONNACK 4 bad credentials, 5 not authorized, 3 backend
 *   unavailable. With `defenses`, lockout, connect rate limits and storm control come first. The will message is authorized here too (refused will → CONNACK 5).
 * - `authorizePublish`: QoS and retain checked; a refusal closes the connection; `$SYS/` stays closed.
 *   Decisions are remembered per client until the policy changes (see `decisionCacheSize`).
 * - `authorizeSubscribe`: per entry; a refused entry gets SUBACK 0x80. `$share/` and `$queue/` filters
 *   are refused: Aedes 1.x has no shared subscriptions and would treat them as plain `$` filters. The
 *   subscriptions Aedes restores for a persistent session are checked against the principal that resumes
 *   it, and a refused one is also removed from the session's persistence.
 * - `authorizeForward`: the receive check on every delivery (live, retained, offline queue), answered
 *   from a per-client map that a policy change invalidates. While the offline queue is drained at
 *   connect, a message must also match a subscription the resuming principal holds: another principal
 *   taking the session over (same client id) does not inherit what was queued for refused filters.
 * - Per-client state (remembered decisions, timers) is bounded in bytes and freed at disconnect.
 * - A principal with `expiresAt` is disconnected when it passes.
 * - With `changes`, a revoked or disabled device's clients are disconnected (their will unpublished) and a
 *   changed device's clients get its new principal and have their subscriptions re-checked; a policy
 *   change re-checks every client's subscriptions.
 *
 * @example
 * ```ts
 * import { Aedes } from 'aedes';
 * const hooks = wardenHooks(guard, { pskIdentityOf });
 * const broker = await Aedes.createBroker({ ...hooks });
 * broker.once('closed', hooks.close);
 * ```
 */
export function wardenHooks(guard: Guard, options: WardenHooksOptions = {}): WardenHooks {
  const now = options.now ?? Date.now;
  const cacheSize = options.decisionCacheSize ?? 1024;
  const cacheBytes = options.decisionCacheBytes ?? 64 * 1024;
  const allowClientId = clientIdCheck(options.clientId);
  const defended = options.defenses ? options.defenses.protect(guard) : guard;
  // SUBACKs the defenses hold (Decision.holdMs); sent at once when the broker closes.
  const holds = new ReplyHolds();
  const states = new WeakMap<Client, ClientState>();
  const live = new Set<ClientState>();
  // Wills seen in preConnect, authorized in authenticate (the hook does not receive the packet).
  const wills = new WeakMap<Client, Will>();
  let version = 0;
  const stopWatching = guard.onChange(() => {
    version++;
    for (const state of live) recheckSubscriptions(state);
  });
  const { changes } = options;
  const stopFollowing = changes?.source.onChange((change) => {
    for (const state of live) {
      if (change.kind === 'resync' || concerns(change, state.principal)) {
        void revalidate(state, change, changes);
      }
    }
  });

  function track(client: Client, principal: Principal): void {
    const publish = Array.from({ length: 6 }, () => new Map<string, boolean>());
    const state: ClientState = {
      client,
      principal,
      revoked: false,
      revalidations: 0,
      receive: new Map(),
      publish,
      bytes: 0,
      version,
    };
    states.set(client, state);
    live.add(state);
    client.conn.once('close', () => untrack(state));
    if (principal.expiresAt !== undefined) scheduleExpiry(state, principal.expiresAt);
  }

  /** Frees what the client held: its decisions now, its state as soon as Aedes lets go of the client. */
  function untrack(state: ClientState): void {
    clearTimeout(state.timer);
    forget(state);
    states.delete(state.client);
    live.delete(state);
  }

  function forget(state: ClientState): void {
    state.receive.clear();
    for (const map of state.publish) map.clear();
    state.bytes = 0;
  }

  function scheduleExpiry(state: ClientState, expiresAt: number): void {
    const delay = expiresAt - now();
    if (delay <= 0) {
      state.client.close();
      return;
    }
    state.timer = setTimeout(() => scheduleExpiry(state, expiresAt), Math.min(delay, MAX_TIMER_MS));
    state.timer.unref();
  }

  function allowed(principal: Principal, request: AccessRequest): boolean {
    return guard.authorize(principal, request, AEDES).allowed;
  }

  /** `via`: the defended guard for a SUBSCRIBE the client sent; the plain one for the broker's own rechecks. */
  function subscribeDecision(principal: Principal, filter: string, qos?: QoS, via = guard): Decision {
    if (isShared(filter)) return REFUSED;
    // authorizeForward checks every delivery, so a receive deny inside the filter need not refuse it.
    return via.authorize(
      principal,
      { action: 'subscribe', topic: filter, qos, deliveryChecked: true },
      AEDES,
    );
  }

  function subscribeAllowed(principal: Principal, filter: string, qos?: QoS): boolean {
    return subscribeDecision(principal, filter, qos).allowed;
  }

  /** Removes the client's subscriptions its principal may no longer hold (policy or principal changed). */
  function recheckSubscriptions(state: ClientState): void {
    const { client } = state;
    const internals = client as unknown as ClientInternals;
    const lost = Object.keys(internals.subscriptions).filter(
      (filter) => !subscribeAllowed(state.principal, filter),
    );
    if (lost.length === 0) return;
    // Without a message id Aedes sends no UNSUBACK and leaves the session's persistence alone.
    client.unsubscribe({ cmd: 'unsubscribe', unsubscriptions: lost }, () => {});
    if (!client.clean) {
      internals.broker.persistence.removeSubscriptions(client, lost).catch(() => {
        // Still refused at every restore and delivery; nothing is granted by failing to remove it.
      });
    }
  }

  async function revalidate(state: ClientState, change: PrincipalChange, changes: PrincipalChanges) {
    const mine = ++state.revalidations;
    let next: Principal | undefined;
    try {
      next = await changes.revalidate(state.principal, change);
    } catch {
      next = undefined;
    }
    // Gone meanwhile, or a newer revalidation decides.
    if (!live.has(state) || mine !== state.revalidations) return;
    if (next === undefined) {
      state.revoked = true;
      forget(state);
      state.client.close();
      return;
    }
    state.principal = next;
    forget(state);
    clearTimeout(state.timer);
    if (next.expiresAt !== undefined) scheduleExpiry(state, next.expiresAt);
    recheckSubscriptions(state);
  }

  /** A publish or receive decision, from the client's cache when the policy has not changed since. */
  function remembered(
    state: ClientState,
    cache: Map<string, boolean>,
    action: 'publish' | 'receive',
    topic: string,
    qos?: QoS,
    retain?: boolean,
  ): boolean {
    const { principal } = state;
    if (state.revoked) return false;
    // The guard checks expiry itself, but a remembered allow must not outlive the credentials either.
    if (principal.expiresAt !== undefined && principal.expiresAt <= now()) return false;
    if (state.version !== version) {
      forget(state);
      state.version = version;
    }
    let ok = cache.get(topic);
    if (ok === undefined) {
      const decision = guard.authorize(principal, { action, topic, qos, retain }, AEDES);
      ok = decision.allowed;
      // A failure is not remembered: the next check gets a fresh decision.
      if (decision.reason !== 'error' && cacheSize > 0) {
        const bytes = topic.length * 2 + ENTRY_BYTES;
        if (state.bytes + bytes > cacheBytes) forget(state);
        if (bytes <= cacheBytes) {
          if (cache.size >= cacheSize) {
            const oldest = cache.keys().next().value as string;
            cache.delete(oldest);
            state.bytes -= oldest.length * 2 + ENTRY_BYTES;
          }
          cache.set(topic, ok);
          state.bytes += bytes;
        }
      }
    }
    return ok;
  }

  return {
    preConnect(client, packet, done) {
      if (packet.will) wills.set(client, packet.will);
      if (!allowClientId(packet.clientId)) {
        done(new ConnectRefusedError(`client id '${packet.clientId}' is not allowed to connect`), false);
        return;
      }
      const check = options.preConnect;
      if (check === undefined) {
        done(null, true);
        return;
      }
      const info: PreConnectInfo = {
        clientId: packet.clientId,
        username: packet.username,
        remoteAddress: remoteAddressOf(client),
        client,
      };
      Promise.resolve()
        .then(() => check(info))
        .then(
          (ok) =>
            ok === true
              ? done(null, true)
              : done(new ConnectRefusedError('connection refused by the preConnect check'), false),
          (error: unknown) =>
            done(new ConnectRefusedError('the preConnect check failed', { cause: error }), false),
        );
    },

    authenticate(client, username, password, done) {
      const request = connectRequestOf(client, username, password, options);
      defended.authenticate(request, AEDES).then(
        (result) => {
          const will = wills.get(client);
          wills.delete(client);
          if (!result.ok) {
            done(new AuthenticationFailedError(result.reason, result.message), false);
            return;
          }
          if (will !== undefined && !willAllowed(result.principal, will)) {
            done(
              new AuthenticationFailedError('not-authorized', `will topic '${will.topic}' is not allowed`),
              false,
            );
            return;
          }
          // Aedes drops a client that went away during authentication; keep no timer for it.
          if (!client.conn.destroyed) track(client, result.principal);
          done(null, true);
        },
        // The guard never rejects; should that ever change, fail closed with "try later".
        () => done(new AuthenticationFailedError('error', 'authentication failed'), false),
      );
    },

    authorizePublish(client, packet, done) {
      if (packet.topic.startsWith(SYS_PREFIX)) {
        done(new NotAuthorizedError(`publishing to '${SYS_PREFIX}' topics is not allowed`));
        return;
      }
      // Aedes passes no client for a will it sweeps from a broker that died; every will
      // was authorized when its client connected.
      if (client === null) {
        done(null);
        return;
      }
      const state = states.get(client);
      const qos = packet.qos;
      const retain = packet.retain === true;
      const ok =
        state !== undefined &&
        remembered(
          state,
          state.publish[qos * 2 + (retain ? 1 : 0)] as Map<string, boolean>,
          'publish',
          packet.topic,
          qos,
          retain,
        );
      done(ok ? null : new NotAuthorizedError(`publish to '${packet.topic}' is not allowed`));
    },

    authorizeSubscribe(client, subscription, done) {
      const state = states.get(client);
      // Still connecting: Aedes is restoring the persistent session's subscriptions (a SUBSCRIBE is only
      // read after CONNACK); those are not requests the client made now, so no limit applies.
      const restoring = client.connecting && !client.connected;
      const decision =
        state === undefined || state.revoked
          ? REFUSED
          : subscribeDecision(
              state.principal,
              subscription.topic,
              subscription.qos,
              restoring ? guard : defended,
            );
      const ok = decision.allowed;
      // A held SUBACK stalls only this client: Aedes reads its next packets once this batch is answered.
      const held = holds.wait(decision);
      if (held) void held.then(() => done(null, null));
      else done(null, ok ? subscription : null);
      // The principal resuming the session may not have this one: drop it for good.
      if (!ok && restoring && !client.clean) {
        const internals = client as unknown as ClientInternals;
        internals.broker.persistence.removeSubscriptions(client, [subscription.topic]).catch(() => {
          // Still refused at every restore and delivery; nothing is granted by failing to remove it.
        });
      }
    },

    authorizeForward(client, packet) {
      const state = states.get(client);
      if (state === undefined || !remembered(state, state.receive, 'receive', packet.topic)) return null;
      // The offline queue is drained before the client counts as connected; what was queued for
      // another principal's subscriptions must match one the resuming principal was granted.
      if (!client.connected && !subscribedTo(client, packet.topic)) return null;
      return packet;
    },

    principalOf(client) {
      return states.get(client)?.principal;
    },

    close() {
      holds.release();
      stopWatching();
      stopFollowing?.();
      for (const state of live) untrack(state);
    },
  };

  function willAllowed(principal: Principal, will: Will): boolean {
    return (
      !will.topic.startsWith(SYS_PREFIX) &&
      allowed(principal, {
        action: 'publish',
        topic: will.topic,
        qos: will.qos,
        retain: will.retain === true,
      })
    );
  }
}

function clientIdCheck(spec: WardenHooksOptions['clientId']): (clientId: string) => boolean {
  if (spec === undefined) return () => true;
  if (typeof spec === 'function') return spec;
  // A global or sticky RegExp keeps lastIndex between calls; test a fresh copy each time.
  const pattern = new RegExp(spec.source, spec.flags.replace(/[gy]/g, ''));
  return (clientId) => pattern.test(clientId);
}

/** Whether one of the client's active subscriptions matches the topic. */
function subscribedTo(client: Client, topic: string): boolean {
  for (const filter of Object.keys((client as unknown as ClientInternals).subscriptions)) {
    try {
      if (matchTopic(filter, topic)) return true;
    } catch {
      // A filter our topic rules reject matches nothing.
    }
  }
  return false;
}

/** Whether a change names the principal's device: its id, or the `device.id` attribute registry logins carry. */
function concerns(change: PrincipalChange, principal: Principal): boolean {
  const { deviceId } = change;
  return (
    deviceId !== undefined && (principal.id === deviceId || principal.attributes['device.id'] === deviceId)
  );
}

function isShared(filter: string): boolean {
  return filter.startsWith('$share/') || filter.startsWith('$queue/');
}
