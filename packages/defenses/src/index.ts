export { type Counter, type CounterStore, openCounterStore } from './counter-store.js';
export { type Defenses, type DefenseStats, type DefensesOptions, createDefenses } from './create-defenses.js';
export type { DefenseEvent, KeyKind } from './defense-event.js';
export {
  type DefensesConfig,
  type DefensesConfigInput,
  DefensesConfigSchema,
  parseDefensesConfig,
} from './defenses-config.js';
export { type Lock, type LockoutEntry, Lockout, type LoginAttempt } from './lockout.js';
export { addressKey, type LockKind, lockKey, parseLockKey } from './lockout-key.js';
export { RecentCredentials } from './recent-credentials.js';
export { TokenBuckets } from './token-buckets.js';
