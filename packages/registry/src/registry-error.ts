import { WardenError } from '@mqtt-warden/core';

export type RegistryErrorCode = 'ERR_REGISTRY_NOT_FOUND' | 'ERR_REGISTRY_EXISTS' | 'ERR_REGISTRY_CONFLICT';

/**
 * A registry write or read that cannot be done as asked. The admin API maps the codes to 404, 409 and 409.
 *
 * @example
 * ```ts
 * try { await store.updateDevice('sensor-1', { enabled: false }, context, 3); }
 * catch (error) { if (error instanceof RegistryError && error.code === 'ERR_REGISTRY_CONFLICT') reload(); }
 * ```
 */
export class RegistryError extends WardenError {
  declare readonly code: RegistryErrorCode;

  constructor(code: RegistryErrorCode, message: string) {
    super(code, message);
  }
}
