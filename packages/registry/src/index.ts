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
