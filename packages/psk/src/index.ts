export { type CreateSasTokenOptions, createSasToken } from './create-sas-token.js';
export { PskFileError, PskKeysFullError, SasTokenError, type SasTokenErrorCode } from './errors.js';
export { generatePskKey } from './generate-psk-key.js';
export { parseEmqxPskFile } from './parse-emqx-psk-file.js';
export { parseMosquittoPskFile } from './parse-mosquitto-psk-file.js';
export { createPskAuthenticator, type PskAuthenticatorOptions } from './psk-authenticator.js';
export { createPskCallback, type PskCallbackOptions, pskIdentityOf } from './psk-callback.js';
export { type PskKeySource, PskStore } from './psk-store.js';
export {
  createRegistryPskAuthenticator,
  type RegistryPskAuthenticatorOptions,
  revalidateRegistryPsk,
} from './registry-psk-authenticator.js';
export {
  type PskRegistry,
  type PskRegistryCredential,
  type PskRegistryDevice,
  type RegistryPskEntry,
  RegistryPskKeys,
  type RegistryPskKeysOptions,
} from './registry-psk-keys.js';
export { parseSasToken, SAS_TOKEN_PREFIX, type SasTokenFields } from './sas-token.js';
export { createSasTokenAuthenticator, type SasTokenAuthenticatorOptions } from './sas-token-authenticator.js';
export { type VerifiedSasToken, type VerifySasTokenOptions, verifySasToken } from './verify-sas-token.js';
