import type { Guard } from '@mqtt-warden/core';
import type { Aedes } from 'aedes';
import { type WardenHooks, type WardenHooksOptions, wardenHooks } from './warden-hooks.js';

/**
 * Puts a guard in front of an existing Aedes broker: installs {@link wardenHooks} on it and releases
 * them when the broker closes. Returns the hooks (e.g. for `principalOf(client)`).
 *
 * @example
 * ```ts
 * import { Aedes } from 'aedes';
 * const broker = await Aedes.createBroker();
 * attachGuard(broker, createGuard({ authenticators: [passwords], authorizer: policy }));
 * net.createServer(broker.handle).listen(1883);
 * ```
 */
export function attachGuard(broker: Aedes, guard: Guard, options?: WardenHooksOptions): WardenHooks {
  const hooks = wardenHooks(guard, options);
  broker.preConnect = hooks.preConnect;
  broker.authenticate = hooks.authenticate;
  broker.authorizePublish = hooks.authorizePublish;
  broker.authorizeSubscribe = hooks.authorizeSubscribe;
  broker.authorizeForward = hooks.authorizeForward;
  broker.once('closed', hooks.close);
  return hooks;
}
