import { readFile } from 'node:fs/promises';
import { type Authenticator, ConfigError, errorCode, type GuardLogger, WardenError } from '@mqtt-warden/core';
import { createJwtAuthenticator, type KeySource } from '@mqtt-warden/jwt';
import {
  createIntrospectionClient,
  createJwtAccessTokenVerifier,
  createOAuthAuthenticator,
} from '@mqtt-warden/oauth';
import { type CredentialStore, createPasswordAuthenticator, openFileStore } from '@mqtt-warden/password';
import {
  createSasTokenAuthenticator,
  PskStore,
  parseEmqxPskFile,
  parseMosquittoPskFile,
} from '@mqtt-warden/psk';
import { CrlSource, createCertificateVerifier, createX509Authenticator } from '@mqtt-warden/x509';
import type { AuthenticatorConfig, JwtKeysConfig } from './authenticator-config.js';
import { onlyIssuers } from './only-issuers.js';
import type { RegistryCredentials } from './registry-credentials.js';
import { registryCertificates, registrySasDevices, registrySasKey } from './registry-devices.js';
import { registryUserStore } from './registry-user-store.js';

/** The registry (`store:`) as the chain reads it: cached credential lookups and a sample of its hash format. */
export interface ChainRegistry {
  readonly credentials: RegistryCredentials;
  /** A hash in the format of new registry passwords, for the password authenticator's same-cost dummy. */
  readonly sampleHash: string;
}

/** One built authenticator with the files it reads and how to reload and stop it. */
export interface ChainLink {
  readonly authenticator: Authenticator;
  /** The password store, for principals of users who have not logged in through this server. */
  readonly store?: CredentialStore;
  /** Files to watch; a change calls {@link reload}. */
  readonly files: readonly string[];
  /** Re-reads files (credentials, device keys, CRLs). Throws when they are invalid; the old data stays. */
  reload(): Promise<void>;
  close(): void;
}

/** What the chain needs from the server's pino logger. */
export interface ChainLogger extends GuardLogger {
  info(obj: object, msg?: string): void;
}

/**
 * Builds one authenticator of the `authenticators` chain from its config block. Problems found only now
 * (unreadable files, unset secret variables, a key that does not fit its algorithms) are ConfigErrors
 * prefixed with the block's location in the config file.
 *
 * @example
 * ```ts
 * const links = await Promise.all(config.authenticators.map((block) => buildChainLink(block, app.log)));
 * const guard = createGuard({ authenticators: links.map((l) => l.authenticator), authorizer: policy });
 * ```
 */
export async function buildChainLink(
  block: AuthenticatorConfig,
  log: ChainLogger,
  registry?: ChainRegistry,
): Promise<ChainLink> {
  try {
    return await build(block, log, registry);
  } catch (error) {
    if (!(error instanceof WardenError) && !(error instanceof TypeError)) throw error;
    const where = block.where ?? `${block.type} authenticator`;
    // Errors about a secret already name the secret's own location.
    const located = /^\S+:\d+:\d+ \(/.test(error.message);
    throw new ConfigError(located ? error.message : `${where}: ${error.message}`, { cause: error });
  }
}

const NOTHING = { files: [], reload: async () => {}, close: () => {} };

async function build(
  block: AuthenticatorConfig,
  log: ChainLogger,
  registry: ChainRegistry | undefined,
): Promise<ChainLink> {
  switch (block.type) {
    case 'password': {
      if (block.file === undefined && registry === undefined) {
        throw new ConfigError(
          'a password authenticator needs a "file" (or a "store:" of registered devices)',
        );
      }
      const file = block.file === undefined ? undefined : await openFileStore({ path: block.file });
      const store = registry
        ? registryUserStore({ registry: registry.credentials, file, sampleHash: registry.sampleHash })
        : file!;
      return {
        authenticator: createPasswordAuthenticator({
          store,
          unknownUser: block.unknownUser,
          cache: block.cache,
          limits: block.limits,
          logger: log,
        }),
        store,
        files: file ? [file.path] : [],
        reload: async () => file?.reload(),
        close: () => {},
      };
    }
    case 'jwt': {
      const authenticator = createJwtAuthenticator({
        keys: await keySource(block.keys),
        name: block.name,
        from: block.from,
        algorithms: block.algorithms,
        issuer: block.issuer,
        audience: block.audience,
        requiredClaims: block.requiredClaims,
        clockToleranceSeconds: block.clockToleranceSeconds,
        usernameClaim: block.claims?.username,
        rolesClaim: block.claims?.roles,
        groupsClaim: block.claims?.groups,
        superuserClaim: block.claims?.superuser,
        aclClaim: block.claims?.acl,
        aclCacheBytes: block.aclCacheBytes,
        bind: block.bind,
        logger: log,
        connectUsername: block.connectUsername,
      });
      const issuers = block.issuer === undefined ? undefined : [block.issuer].flat();
      return {
        authenticator: issuers ? onlyIssuers(authenticator, issuers, block.from) : authenticator,
        ...NOTHING,
      };
    }
    case 'oauth': {
      const { introspection, jwt } = block;
      const authenticator = createOAuthAuthenticator({
        name: block.name,
        from: block.from,
        jwt: jwt
          ? createJwtAccessTokenVerifier({
              keys: await keySource(jwt.keys),
              issuer: jwt.issuer,
              audience: jwt.audience,
              algorithms: jwt.algorithms,
              clockToleranceSeconds: jwt.clockToleranceSeconds,
            })
          : undefined,
        introspection: introspection
          ? createIntrospectionClient({
              ...introspection,
              clientSecret: await introspection.clientSecret.reveal(),
            })
          : undefined,
        audience: block.audience,
        scopes: block.scopes,
        claims: block.claims && {
          usernameClaim: block.claims.username,
          rolesClaim: block.claims.roles,
          groupsClaim: block.claims.groups,
          superuserClaim: block.claims.superuser,
          aclClaim: block.claims.acl,
          onAclRuleDropped: (message: string) => log.warn({ authenticator: block.type }, message),
        },
        aclCacheBytes: block.aclCacheBytes,
        bind: block.bind,
        connectUsername: block.connectUsername,
      });
      return {
        // Opaque tokens still go to introspection; JWTs of other issuers are left to the next authenticator.
        authenticator: jwt ? onlyIssuers(authenticator, [jwt.issuer], block.from) : authenticator,
        ...NOTHING,
      };
    }
    case 'x509': {
      const anchors = await Promise.all(block.trustAnchors.map((file) => readText(file, 'CA certificate')));
      const { crl } = block;
      const crls = crl
        ? await CrlSource.create({
            files: crl.files,
            urls: crl.urls,
            refreshIntervalMs: crl.refreshIntervalMs,
            timeoutMs: crl.timeoutMs,
            onError: (error, location) =>
              log.warn({ location, reason: error.message }, 'CRL not loaded; keeping the previous one'),
          })
        : undefined;
      const verifier = createCertificateVerifier({
        trustAnchors: anchors,
        clockToleranceMs: block.clockToleranceMs,
        allowMissingExtendedKeyUsage: block.allowMissingExtendedKeyUsage,
        maxPathLength: block.maxPathLength,
        cache: block.cache,
        revocation: crls && {
          crls,
          whenUnavailable: crl?.whenUnavailable,
          checkIntermediates: crl?.checkIntermediates,
        },
      });
      const x509 = createX509Authenticator({
        verifier,
        idFrom: block.identity?.id,
        usernameFrom: block.identity?.username,
        clientIdFrom: block.identity?.clientId,
        requireClientIdMatch: block.identity?.requireClientIdMatch,
        connectUsername: block.connectUsername,
        roles: block.roles,
      });
      if (block.registeredOnly && !registry) {
        throw new ConfigError('"registeredOnly" needs a "store:" of registered devices');
      }
      return {
        authenticator: registry
          ? registryCertificates(x509, registry.credentials, block.registeredOnly === true)
          : x509,
        files: crl?.files ?? [],
        reload: async () => crls?.refresh(),
        close: () => {
          verifier.close();
          crls?.close();
        },
      };
    }
    case 'sas-token': {
      if (block.keys === undefined && registry === undefined) {
        throw new ConfigError('a sas-token authenticator needs "keys" (or a "store:" of registered devices)');
      }
      const file = block.keys?.file;
      const load = async () => {
        if (file === undefined) return [];
        const text = await readText(file, 'device keys');
        return block.keys?.format === 'emqx' ? parseEmqxPskFile(text) : parseMosquittoPskFile(text);
      };
      const keys = new PskStore(await load());
      const fileKey = (deviceId: string) => keys.get(deviceId);
      const sas = createSasTokenAuthenticator({
        getKey: registry
          ? registrySasKey(registry.credentials, fileKey)
          : (deviceId, policyName) => (policyName === undefined ? fileKey(deviceId) : undefined),
        hostName: block.hostName,
        requireClientIdMatch: block.requireClientIdMatch,
        connectUsername: block.connectUsername,
        roles: block.roles,
      });
      return {
        authenticator: registry
          ? registrySasDevices(sas, registry.credentials, (deviceId) => keys.has(deviceId))
          : sas,
        files: file === undefined ? [] : [file],
        reload: async () => keys.replace(await load()),
        close: () => {},
      };
    }
  }
}

/** The jwt package's key source for a `keys` block; reads PEM files and reveals secrets. */
async function keySource(keys: JwtKeysConfig): Promise<KeySource> {
  if (keys.secret) return { secret: await keys.secret.reveal() };
  if (keys.jwksUrl) {
    return {
      jwksUrl: keys.jwksUrl,
      timeoutMs: keys.timeoutMs,
      cooldownMs: keys.cooldownMs,
      cacheMaxAgeMs: keys.cacheMaxAgeMs,
    };
  }
  const publicKey = keys.publicKey!;
  if (typeof publicKey === 'string') return { publicKey };
  if ('file' in publicKey && typeof publicKey.file === 'string') {
    return { publicKey: await readText(publicKey.file, 'public key') };
  }
  return { publicKey: publicKey as Extract<KeySource, { publicKey: unknown }>['publicKey'] };
}

async function readText(file: string, what: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read the ${what} file ${file} (${errorCode(error)})`);
  }
}
