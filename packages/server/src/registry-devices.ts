import type { Authenticator, AuthOutcome, ConnectRequest, Principal } from '@mqtt-warden/core';
import type { CertificateCredential, Device, DeviceCredentials, SasCredential } from '@mqtt-warden/registry';
import {
  credentialLive,
  deviceAttributes,
  deviceUsable,
  type RegistryCredentials,
} from './registry-credentials.js';

const NOT_AUTHORIZED = (message: string): AuthOutcome => ({
  outcome: 'deny',
  reason: 'not-authorized',
  message,
});

/**
 * Why a registry device may not log in on this connection, or `undefined` when it may: it must be
 * enabled and inside its validity window, and the client id one of its own.
 */
function refusal(device: Device, request: ConnectRequest, now: number): AuthOutcome | undefined {
  if (!deviceUsable(device, now)) return NOT_AUTHORIZED('the device is disabled or outside its validity');
  if (!device.clientIds.includes(request.clientId)) {
    return NOT_AUTHORIZED('this client id is not registered for the device');
  }
  return undefined;
}

/** The principal of a registry device from the one a verifier built: the device's id, roles, groups and attributes. */
function devicePrincipal(principal: Principal, device: Device, username: string | undefined): Principal {
  const expiresAt = Math.min(
    principal.expiresAt ?? Number.POSITIVE_INFINITY,
    device.expiresAt?.getTime() ?? Number.POSITIVE_INFINITY,
  );
  const { claimedUsername: _claimed, username: _username, expiresAt: _expires, ...rest } = principal;
  return {
    ...rest,
    id: device.id,
    ...(username === undefined ? {} : { username }),
    roles: device.roles,
    groups: device.groups,
    attributes: { ...principal.attributes, ...deviceAttributes(device) },
    ...(Number.isFinite(expiresAt) ? { expiresAt } : {}),
  };
}

/**
 * The SAS key of a device: from the `file` first, then the newest live SAS credential of a registry
 * device. Use with {@link registrySasDevices}, which applies the device's state to the principal.
 */
export function registrySasKey(
  registry: RegistryCredentials,
  fileKey: (deviceId: string) => Uint8Array | undefined,
  now: () => number = Date.now,
): (deviceId: string, policyName: string | undefined) => Promise<Uint8Array | undefined> {
  return async (deviceId, policyName) => {
    if (policyName !== undefined) return undefined;
    const fromFile = fileKey(deviceId);
    if (fromFile) return fromFile;
    return newestSas(await registry.find({ kind: 'sas', deviceId }), now())?.key;
  };
}

function newestSas(found: DeviceCredentials | undefined, now: number): SasCredential | undefined {
  return found?.credentials
    .filter((c): c is SasCredential => c.kind === 'sas' && credentialLive(c, now))
    .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime())[0];
}

/**
 * The `sas-token` authenticator over registry devices: a token verified with a registry device's key
 * (see {@link registrySasKey}) is refused when the device is disabled, outside its validity, its client
 * id not one of the device's, or its username not its id (SAS tokens name the device id, which the
 * CONNECT username must match); otherwise the principal carries the device's roles, groups and attributes.
 * Devices of the `file` are unchanged.
 */
export function registrySasDevices(
  inner: Authenticator,
  registry: RegistryCredentials,
  fromFile: (deviceId: string) => boolean,
  now: () => number = Date.now,
): Authenticator {
  return {
    ...inner,
    async authenticate(request) {
      const outcome = await inner.authenticate(request);
      if (outcome.outcome !== 'allow' || fromFile(outcome.principal.id)) return outcome;
      const found = await registry.find({ kind: 'sas', deviceId: outcome.principal.id });
      const t = now();
      const credential = newestSas(found, t);
      // Changed between the signature check and now: refuse rather than use either state.
      if (!found || !credential) return NOT_AUTHORIZED('the device key was revoked');
      const { device } = found;
      const refused = refusal(device, request, t);
      if (refused) return refused;
      if (device.username !== device.id) {
        return NOT_AUTHORIZED('a SAS device logs in with its id as username; register it so');
      }
      registry.touch(credential.id);
      return { outcome: 'allow', principal: devicePrincipal(outcome.principal, device, device.username) };
    },
  };
}

/**
 * The `x509` authenticator over registry certificate bindings: after the chain check, a certificate
 * bound to a registry device (by SHA-256 fingerprint, else issuer DN and serial) logs in as that device
 * (id, username, roles, groups, attributes), refused when the device is disabled, outside its validity,
 * the client id not one of its own, or a CONNECT username given that is not the device's. A certificate
 * bound to no device keeps the authenticator's own principal, unless `registeredOnly`: then it is refused
 * (so revoking a binding also refuses the certificate).
 */
export function registryCertificates(
  inner: Authenticator,
  registry: RegistryCredentials,
  registeredOnly: boolean,
  now: () => number = Date.now,
): Authenticator {
  return {
    ...inner,
    async authenticate(request) {
      const outcome = await inner.authenticate(request);
      if (outcome.outcome !== 'allow') return outcome;
      const { attributes } = outcome.principal;
      const fingerprint = attributes['cert.fingerprint'];
      const issuer = attributes['cert.issuer.dn'];
      const serial = attributes['cert.serial'];
      let found =
        typeof fingerprint === 'string'
          ? await registry.find({ kind: 'x509', fingerprint: fingerprint.replaceAll(':', '').toUpperCase() })
          : undefined;
      if (!found && typeof issuer === 'string' && typeof serial === 'string') {
        found = await registry.find({ kind: 'x509', issuer, serial });
      }
      const t = now();
      const binding = found?.credentials.find(
        (c): c is CertificateCredential => c.kind === 'x509' && credentialLive(c, t),
      );
      if (!found || !binding) {
        return registeredOnly
          ? NOT_AUTHORIZED('the certificate is not bound to a registered device')
          : outcome;
      }
      const { device } = found;
      const refused = refusal(device, request, t);
      if (refused) return refused;
      if (request.username !== undefined && request.username !== device.username) {
        return NOT_AUTHORIZED('the username must be the one the certificate proves');
      }
      registry.touch(binding.id);
      return { outcome: 'allow', principal: devicePrincipal(outcome.principal, device, device.username) };
    },
  };
}
