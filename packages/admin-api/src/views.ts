import type { AuditRecord, Credential, Device, PolicyVersion } from '@mqtt-warden/registry';

const iso = (date: Date | undefined | null) => (date ? new Date(date).toISOString() : undefined);

/** A device as JSON (dates as ISO strings). */
export function deviceView(device: Device) {
  return {
    id: device.id,
    username: device.username,
    clientIds: device.clientIds,
    roles: device.roles,
    groups: device.groups,
    attributes: device.attributes,
    enabled: device.enabled,
    notBefore: iso(device.notBefore),
    expiresAt: iso(device.expiresAt),
    createdAt: iso(device.createdAt),
    updatedAt: iso(device.updatedAt),
    version: device.version,
  };
}

/** A credential as JSON without its secret part: no hash, no key. */
export function credentialView(credential: Credential) {
  return {
    id: credential.id,
    deviceId: credential.deviceId,
    kind: credential.kind,
    identity: credential.kind === 'psk' ? credential.identity : undefined,
    fingerprint: credential.kind === 'x509' ? credential.fingerprint : undefined,
    issuer: credential.kind === 'x509' ? credential.issuer : undefined,
    serial: credential.kind === 'x509' ? credential.serial : undefined,
    createdAt: iso(credential.createdAt),
    expiresAt: iso(credential.expiresAt),
    lastUsedAt: iso(credential.lastUsedAt),
    revokedAt: iso(credential.revokedAt),
  };
}

export function policyView(policy: PolicyVersion, withText: boolean) {
  return {
    version: policy.version,
    format: policy.format,
    createdAt: iso(policy.createdAt),
    createdBy: policy.createdBy,
    comment: policy.comment ?? undefined,
    active: policy.active,
    text: withText ? policy.text : undefined,
  };
}

export function auditView(record: AuditRecord) {
  return { ...record, at: iso(record.at) };
}
