export type {
  CertificateCredential,
  Credential,
  CredentialInput,
  CredentialKind,
  CredentialLookup,
  DeviceCredentials,
  PasswordCredential,
  PskCredential,
  SasCredential,
} from './credential.js';
export type {
  Device,
  DeviceAttributes,
  DeviceInput,
  DevicePage,
  DevicePatch,
  DeviceQuery,
} from './device.js';
export { MemoryRegistry, type MemoryRegistryOptions } from './memory-registry.js';
export {
  type MigrateRegistryOptions,
  type MigrateResult,
  migrateRegistry,
} from './migrate-registry.js';
export {
  createPostgresRegistry,
  type PostgresRegistryOptions,
  rotateEncryptionKey,
} from './postgres-registry.js';
export { RegistryError, type RegistryErrorCode } from './registry-error.js';
export type {
  AdminScope,
  AdminToken,
  AuditRecord,
  DeviceImportRow,
  ImportResult,
  PolicyVersion,
  RegistryChange,
  RegistryStore,
  SessionRecord,
  SigningKey,
  WriteContext,
} from './registry-store.js';
export { encryptionKeyId, SecretBox, SecretBoxError } from './secret-box.js';
