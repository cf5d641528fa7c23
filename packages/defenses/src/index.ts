export { type Counter, type CounterStore, openCounterStore } from './counter-store.js';
export { createDefenses, type DefenseStats, type Defenses, type DefensesOptions } from './create-defenses.js';
export type { DefenseEvent, KeyKind } from './defense-event.js';
export {
  type DefensesConfig,
  type DefensesConfigInput,
  DefensesConfigSchema,
  parseDefensesConfig,
} from './defenses-config.js';
export { type Lock, Lockout, type LockoutEntry, type LoginAttempt } from './lockout.js';
export { addressKey, type LockKind, lockKey, parseLockKey } from './lockout-key.js';
export { RecentCredentials } from './recent-credentials.js';
export { SlowdownHolds } from './slowdown-holds.js';
export { TokenBuckets } from './token-buckets.js';
