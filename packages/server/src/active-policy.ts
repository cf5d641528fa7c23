import { errorCode } from '@mqtt-warden/core';
import { type PolicyWatcher, parsePolicy } from '@mqtt-warden/policy';
import type { RegistryStore } from '@mqtt-warden/registry';

/** Where the follower reports (pino fits). */
interface Log {
  info(object: object, message: string): void;
  error(object: object, message: string): void;
}

export interface ActivePolicyOptions {
  readonly store: Pick<RegistryStore, 'activePolicyVersion' | 'onChange'>;
  /** The file policy; the active version is put in force over it with `override`. */
  readonly policy: PolicyWatcher;
  readonly log: Log;
  /** How often the active version is re-read besides the change feed, in ms. Default 30,000. */
  readonly checkIntervalMs?: number;
}

/** A running {@link followActivePolicy}. */
export interface ActivePolicy {
  /** The store's policy version in force, `undefined` while the file policy applies. */
  readonly version: number | undefined;
  /** Re-reads the active version now; resolves when it is in force (or was refused and logged). */
  refresh(): Promise<void>;
  close(): void;
}

// Until the store says which version is active, nothing is allowed: the file's policy might grant
// what the active version took away.
const DENY_ALL = parsePolicy('version: 1\nroles: {}\n', { file: 'registry policy (store unavailable)' });

/**
 * Enforces the registry's active policy version on this replica: compiled from the version's text
 * (errors and explanations keep its lines, as `policy vN` line L), put in force over the file
 * policy, and switched when the change feed reports a policy change (also re-read every
 * `checkIntervalMs`). Precedence: the store's active version when there is one, else the file policy.
 * A version that does not compile is refused with its error code logged, and the previous policy stays.
 * While the store has not answered yet, everything is denied.
 *
 * @example
 * ```ts
 * const active = await followActivePolicy({ store, policy: await watchPolicy('policy.yaml'), log });
 * ```
 */
export async function followActivePolicy(options: ActivePolicyOptions): Promise<ActivePolicy> {
  const { store, policy, log } = options;
  let version: number | undefined;
  let known = false;
  let loading: Promise<void> = Promise.resolve();

  async function load(): Promise<void> {
    let active: Awaited<ReturnType<typeof store.activePolicyVersion>>;
    try {
      active = await store.activePolicyVersion();
    } catch (error) {
      if (!known) policy.override(DENY_ALL);
      log.error({ code: errorCode(error) }, 'active policy version not read; keeping the policy in force');
      return;
    }
    if (active === undefined) {
      if (!known || version !== undefined)
        log.info({}, 'no active policy version in the store: the file policy applies');
      policy.override(undefined);
      version = undefined;
      known = true;
      return;
    }
    if (known && active.version === version) return;
    try {
      policy.override(parsePolicy(active.text, { file: `policy v${active.version}` }));
    } catch (error) {
      if (!known) policy.override(DENY_ALL);
      log.error(
        { version: active.version, code: errorCode(error) },
        'active policy version does not compile; keeping the previous policy',
      );
      return;
    }
    version = active.version;
    known = true;
    log.info({ version }, 'policy version in force');
  }

  function refresh(): Promise<void> {
    loading = loading.then(load);
    return loading;
  }

  await refresh();
  const stop = store.onChange((change) => {
    if (change.kind === 'policy' || change.kind === 'resync') void refresh();
  });
  const timer = setInterval(() => void refresh(), options.checkIntervalMs ?? 30_000);
  timer.unref();
  return {
    get version() {
      return version;
    },
    refresh,
    close() {
      clearInterval(timer);
      stop();
    },
  };
}
