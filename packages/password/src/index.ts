export { COMMON_PASSWORDS } from './common-passwords.js';
export type { CredentialStore, UserEntry } from './credential-store.js';
export {
  CredentialFileError,
  PasswordFormatError,
  PasswordRuleError,
  type PasswordRuleFailure,
} from './errors.js';
export {
  type CredentialFileFormat,
  credentialFileFormat,
  type FileStore,
  type FileStoreOptions,
  openFileStore,
} from './file-store.js';
export { ARGON2ID_DEFAULTS, type HashPasswordOptions, hashPassword } from './hash-password.js';
export { identifyHash } from './identify-hash.js';
export { createMemoryStore, type MemoryStore } from './memory-store.js';
export {
  checkUsername,
  deleteMosquittoPassword,
  parseMosquittoPasswordFile,
  setMosquittoPassword,
} from './mosquitto-password-file.js';
export { needsRehash } from './needs-rehash.js';
export { HASH_LIMITS, type HashFormat } from './parse-hash.js';
export {
  createPasswordAuthenticator,
  type PasswordAuthenticator,
  type PasswordAuthenticatorOptions,
} from './password-authenticator.js';
export {
  type CharacterClass,
  checkPasswordAge,
  checkPasswordRules,
  type PasswordRules,
  type PasswordRulesResult,
} from './password-rules.js';
export type { StoredHash } from './stored-hash.js';
export { type UserConnection, userPrincipal } from './user-principal.js';
export { deleteUser, parseUsersFile, setUserPassword, type UsersFileFormat } from './users-file.js';
export { VerificationLimiter, type VerificationLimits } from './verification-limiter.js';
export { verifyPassword } from './verify-password.js';
