/** Thresholds of the built-in alert rules; `false` turns a rule off. */
export interface AlertRules {
  /** Keys (addresses, devices) each rule tracks at most; the least recently seen is forgotten (default 10,000). */
  readonly maxKeys?: number;
  /** More than `max` failed authentications from one address within `windowSeconds`. */
  readonly failuresPerAddress?: false | { readonly max: number; readonly windowSeconds: number };
  /** Failed authentications for more than `usernames` distinct usernames from one address within `windowSeconds`. */
  readonly credentialStuffing?: false | { readonly usernames: number; readonly windowSeconds: number };
  /** More than `max` refused publishes/subscriptions for one device within `windowSeconds`. */
  readonly refusedPerDevice?: false | { readonly max: number; readonly windowSeconds: number };
  /**
   * A device (principal) that authenticated before connects from a network it has not used: its /24
   * (IPv4) or /64 (IPv6). The last `networksPerDevice` networks of each device are remembered.
   */
  readonly newNetwork?: false | { readonly networksPerDevice: number };
  /** More than `perSecond` connects (allowed or refused) per second across all devices. */
  readonly reconnectStorm?: false | { readonly perSecond: number };
  /** Every lockout the defenses report. */
  readonly lockout?: boolean;
}

/** The rules a server runs when its config says nothing else. */
export const DEFAULT_ALERT_RULES = {
  maxKeys: 10_000,
  failuresPerAddress: { max: 20, windowSeconds: 60 },
  credentialStuffing: { usernames: 10, windowSeconds: 600 },
  refusedPerDevice: { max: 30, windowSeconds: 60 },
  newNetwork: { networksPerDevice: 4 },
  reconnectStorm: { perSecond: 200 },
  lockout: true,
} as const satisfies AlertRules;
