/**
 * The neutral vocabulary shared by every adapter, verifier and the policy engine.
 * Adapters translate a broker's request into these types; nothing here knows a broker.
 */

/** What a client asks to do with a topic. `receive` is a delivery to the client (AWS IoT's `iot:Receive`). */
export type Action = 'publish' | 'subscribe' | 'receive';

export type QoS = 0 | 1 | 2;

/** How the connection reached the broker, as far as the broker tells us. */
export interface Transport {
  /** Peer IP address (IPv4 or IPv6, without port). */
  readonly remoteAddress?: string;
  readonly remotePort?: number;
  /** True when the client connected over TLS (including TLS-PSK). */
  readonly tls: boolean;
  /** The client's certificate chain as DER, leaf first, when mutual TLS was used. */
  readonly peerCertificates?: readonly Uint8Array[];
  /** The TLS-PSK identity the client presented, when TLS-PSK was used. */
  readonly pskIdentity?: string;
  /** TLS server name indication, when present. */
  readonly serverName?: string;
}

/** A CONNECT, in neutral form. */
export interface ConnectRequest {
  readonly clientId: string;
  readonly username?: string;
  /** Raw password bytes (MQTT passwords are binary). Never log this. */
  readonly password?: Uint8Array;
  /** MQTT protocol level: 3 (3.1), 4 (3.1.1) or 5. */
  readonly protocolVersion?: number;
  readonly transport: Transport;
  /** Listener or zone name when the broker reports one. */
  readonly listener?: string;
  /** Attributes the broker attached to the client (e.g. EMQX client_attrs). */
  readonly attributes?: Readonly<Record<string, string>>;
}

/**
 * A topic matched as the exact string written (EMQX's `eq`): no placeholder is rendered and `+`/`#` are
 * plain characters. It matches a publish or receive whose topic name is that string, and a subscription
 * whose filter (without `$share/{group}/`) is that string; so `{ eq: 'a/+' }` allows subscribing to the
 * filter `a/+` only, and no publish or receive (no topic name contains `+`).
 */
export interface ExactTopic {
  readonly eq: string;
}

/** A rule's topic: a filter (MQTT wildcards, `${…}` placeholders) or an {@link ExactTopic}. */
export type RuleTopic = string | ExactTopic;

/** A topic permission carried by the principal itself, e.g. from a token's ACL claim. */
export interface PrincipalRule {
  readonly effect: 'allow' | 'deny';
  readonly actions: readonly Action[];
  /** Topic filters (placeholders such as `${clientid}` allowed) or exact topics; an empty list matches nothing. */
  readonly topics: readonly RuleTopic[];
  /** The rule applies only to these QoS levels; all when absent. */
  readonly qos?: readonly QoS[];
  /**
   * A match condition, as in a policy rule and in EMQX: `true`, the rule applies only to retained
   * messages; `false`, only to non-retained ones; absent, to both. It never grants anything by itself:
   * an allow with `retain: true` leaves non-retained publishes to the other rules (default deny). A
   * subscribe request counts as non-retained, so put `retain` on publish (and receive) rules only.
   */
  readonly retain?: boolean;
}

/** The authenticated identity that every authorization decision is about. */
export interface Principal {
  /** Stable subject id (username, certificate subject, token `sub`, PSK identity…). */
  readonly id: string;
  readonly clientId: string;
  /**
   * The username the verifier proved (a store entry's name, a mapped token claim or certificate field).
   * Undefined when nothing proved one: the CONNECT username a client merely sent never lands here.
   * Policy `users:`/`superusers:` entries, `${username}` placeholders and the HTTP endpoints grant by it.
   */
  readonly username?: string;
  /**
   * The CONNECT username as the client sent it, when the verifier did not prove it. Untrusted: no policy
   * entry, placeholder or endpoint grants by it; it is kept for logs and audit only.
   */
  readonly claimedUsername?: string;
  /** The verifier that proved this identity: `password`, `psk`, `x509`, `jwt`, `oauth` or a custom name. */
  readonly method: string;
  /** Role names granted by the verifier (token claims, store entries). The policy may add more. */
  readonly roles: readonly string[];
  readonly groups?: readonly string[];
  /**
   * Facts about the principal usable as policy placeholders and in bindings, with dotted keys:
   * `cert.cn`, `cert.dn`, `claims.site`, `scope` (space-separated scopes as an array)…
   */
  readonly attributes: Readonly<Record<string, string | readonly string[]>>;
  /** Superusers skip topic checks. */
  readonly superuser?: boolean;
  /** Milliseconds since the epoch after which every authorization is denied (a token's `exp`). */
  readonly expiresAt?: number;
  /** The principal's own rules, evaluated together with the policy's. */
  readonly rules?: readonly PrincipalRule[];
  /** Where the client connects from, for CIDR conditions. */
  readonly remoteAddress?: string;
  /** Whether the client connection is TLS, for `tls: required` conditions. */
  readonly tls?: boolean;
}

/** One publish, subscribe or receive check. */
export interface AccessRequest {
  readonly action: Action;
  /** A topic name for publish and receive, a topic filter (without `$share/g/`) for subscribe. */
  readonly topic: string;
  readonly qos?: QoS;
  readonly retain?: boolean;
  /** Shared-subscription group (`$share/{group}/…`, or `$queue`) when the subscription had one. */
  readonly shareGroup?: string;
  /**
   * For a subscribe: the broker checks every delivery with a `receive` request (Aedes `authorizeForward`,
   * Mosquitto's READ check through go-auth), so a subscription that merely overlaps a receive deny need
   * not be refused; the deliveries are.
   * Brokers without a per-delivery check must leave this unset.
   */
  readonly deliveryChecked?: boolean;
}

/** Where a policy rule was written, for explain output and audit. */
export interface RuleSource {
  readonly file?: string;
  readonly line?: number;
  readonly column?: number;
}

/** The rule that decided, as reported in decisions. */
export interface RuleRef {
  /** Stable id, e.g. `role:device#2` or `principal#0`. */
  readonly id: string;
  readonly effect: 'allow' | 'deny';
  readonly role?: string;
  readonly topic?: string;
  /** True when `topic` is an exact topic ({@link ExactTopic}): compared as a string, no wildcards. */
  readonly exact?: boolean;
  readonly source?: RuleSource;
}

/**
 * Why a decision came out as it did.
 * - `superuser`: allowed without topic checks.
 * - `rule`: an allow or deny rule decided (see `rule`).
 * - `default`: no rule applied; default deny.
 * - `expired`: the principal's `expiresAt` has passed.
 * - `invalid`: the topic or filter is not valid MQTT.
 * - `error`: something failed; fail closed.
 */
export type DecisionReason = 'superuser' | 'rule' | 'default' | 'expired' | 'invalid' | 'error';

export interface Decision {
  readonly allowed: boolean;
  readonly reason: DecisionReason;
  readonly rule?: RuleRef;
  /** Human-readable detail for explain output and logs. Never contains secrets. */
  readonly message?: string;
  /**
   * Milliseconds the adapter holds this deny's reply before sending it, set by the defenses for a client
   * that keeps asking for what it was refused (see `@mqtt-warden/defenses`). Never set on an allow; the
   * decision itself stays what it is. Adapters wait it out with {@link ReplyHolds}.
   */
  readonly holdMs?: number;
}

/**
 * Why a connect was refused. Adapters map these to their broker's replies
 * (Aedes CONNACK: `bad-credentials` → 4, `not-authorized` → 5, `unavailable` → 3).
 */
export type DenyReason =
  | 'bad-credentials'
  | 'not-authorized'
  | 'expired'
  | 'unavailable'
  | 'no-authenticator'
  | 'error';

/** What an authenticator answers: allow with a principal, deny with a reason, or ignore (not mine). */
export type AuthOutcome =
  | { readonly outcome: 'allow'; readonly principal: Principal }
  | { readonly outcome: 'deny'; readonly reason: DenyReason; readonly message?: string }
  | { readonly outcome: 'ignore' };

/** One link of the guard's authentication chain (password, psk, x509, jwt, oauth, custom). */
export interface Authenticator {
  /** Name reported in audit events and decisions, e.g. `password`. */
  readonly name: string;
  /**
   * True when every principal this authenticator allows has `username` equal to the CONNECT username
   * (a connect whose username differs from the proven one is refused, never allowed under another name).
   * When every authenticator in a chain proves usernames, a stateless authorization request's username
   * names a proven identity, and a server may rebuild the session's principal from it.
   */
  readonly provesUsername?: boolean;
  authenticate(request: ConnectRequest): AuthOutcome | Promise<AuthOutcome>;
}

/** Decides publish/subscribe/receive for a principal. Synchronous so it can run on a broker's delivery path. */
export interface Authorizer {
  authorize(principal: Principal, request: AccessRequest): Decision;
  /** Connect-time checks that the policy owns (client-id allowlist, allowed auth methods). */
  admit?(principal: Principal): Decision;
  /** Register a listener called after the policy changes; returns an unsubscribe function. */
  onChange?(listener: () => void): () => void;
}
