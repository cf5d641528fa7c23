export { type Counter, type CounterStore, openCounterStore } from './counter-store.js';
export { createDefenses, type DefenseStats, type Defenses, type DefensesOptions } from './create-defenses.js';
export type { DefenseEvent, KeyKind } from './defense-event.js';
export {
  type DefensesConfig,
  type DefensesConfigInput,
  DefensesConfigSchema,
  parseDefensesConfig,
  RedisStoreSchema,
} from './defenses-config.js';
export { FleetSync, type FleetSyncOptions, type FleetSyncStats } from './fleet-sync.js';
export { type Budget, LeasedBudget, type LeasedBudgetOptions, localBudget } from './leased-budget.js';
export { type Lock, Lockout, type LockoutEntry, type LoginAttempt } from './lockout.js';
export { addressKey, encodeKeyPart, type LockKind, lockKey, parseLockKey } from './lockout-key.js';
export { RecentCredentials } from './recent-credentials.js';
export { type BucketDelta, type Lease, redisSharedState, type SharedState } from './shared-state.js';
export { type RequestBuckets, SharedTokenBuckets } from './shared-token-buckets.js';
export { SlowdownHolds } from './slowdown-holds.js';
export { TokenBuckets } from './token-buckets.js';
