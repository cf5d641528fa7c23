/** Attribute values of a device; they become principal attributes (policy placeholders `${attributes.x}`). */
export type DeviceAttributes = Readonly<Record<string, string | readonly string[]>>;

/** One registered device, as the store holds it. */
export interface Device {
  /** Stable id chosen at registration (also the principal id of its sessions). */
  readonly id: string;
  /** The username the device logs in with; unique across devices. */
  readonly username: string;
  /** Client ids the device may use (exact strings); `[id]` unless registered otherwise. */
  readonly clientIds: readonly string[];
  readonly roles: readonly string[];
  readonly groups: readonly string[];
  readonly attributes: DeviceAttributes;
  /** A disabled device cannot authenticate with any credential. */
  readonly enabled: boolean;
  readonly notBefore?: Date;
  readonly expiresAt?: Date;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  /** Incremented by every update; an update that names another version fails with `ERR_REGISTRY_CONFLICT`. */
  readonly version: number;
}

/** What a caller gives to register a device; the store fills in the rest. */
export interface DeviceInput {
  readonly id: string;
  /** Default: the id. */
  readonly username?: string;
  /** Default: `[id]`. */
  readonly clientIds?: readonly string[];
  readonly roles?: readonly string[];
  readonly groups?: readonly string[];
  readonly attributes?: DeviceAttributes;
  /** Default true. */
  readonly enabled?: boolean;
  readonly notBefore?: Date;
  readonly expiresAt?: Date;
}

/** A partial update of a device; `null` clears an optional date. */
export interface DevicePatch {
  readonly username?: string;
  readonly clientIds?: readonly string[];
  readonly roles?: readonly string[];
  readonly groups?: readonly string[];
  readonly attributes?: DeviceAttributes;
  readonly enabled?: boolean;
  readonly notBefore?: Date | null;
  readonly expiresAt?: Date | null;
}

/** Filters and cursor of a device listing. */
export interface DeviceQuery {
  /** Only devices whose id sorts after this one (the previous page's `next`). */
  readonly after?: string;
  /** Page size; stores cap it at 1,000. Default 100. */
  readonly limit?: number;
  readonly enabled?: boolean;
  readonly role?: string;
  readonly group?: string;
  /** Only ids starting with this prefix. */
  readonly idPrefix?: string;
}

export interface DevicePage {
  readonly devices: readonly Device[];
  /** Cursor of the next page, absent on the last one. */
  readonly next?: string;
}
