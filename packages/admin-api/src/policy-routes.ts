import type { Principal } from '@mqtt-warden/core';
import { formatExplanation } from '@mqtt-warden/policy';
import type { PolicyVersion, RegistryStore } from '@mqtt-warden/registry';
import { z } from 'zod';
import { AdminApiError } from './admin-api-error.js';
import { type AdminRoute, COMMON_ERRORS, IDEMPOTENCY_HEADER, route } from './admin-route.js';
import { lineDiff } from './line-diff.js';
import type { SimulatePolicy, ValidatePolicy } from './policy-tools.js';
import {
  ActivateSchema,
  DiffQuerySchema,
  ErrorSchema,
  PolicyUploadSchema,
  PolicyVersionSchema,
  RollbackSchema,
  SimulateSchema,
  VersionParamsSchema,
} from './schemas.js';
import { policyView } from './views.js';

type VersionParams = z.output<typeof VersionParamsSchema>;

const notFound = { 404: { description: 'no such version', schema: ErrorSchema } };
const conflict = { 409: { description: 'another version became active meanwhile', schema: ErrorSchema } };
const invalidPolicy = {
  422: { description: 'the policy does not load: located issues', schema: ErrorSchema },
};
const one = { description: 'the version', schema: PolicyVersionSchema };

async function version(store: RegistryStore, number: number): Promise<PolicyVersion> {
  const found = await store.getPolicyVersion(number);
  if (!found) throw new AdminApiError(404, 'ERR_ADMIN_NOT_FOUND', `no policy version ${number}`);
  return found;
}

async function activeVersion(store: RegistryStore): Promise<PolicyVersion> {
  const active = await store.activePolicyVersion();
  if (!active) {
    throw new AdminApiError(409, 'ERR_ADMIN_NO_POLICY', 'no policy version is active: activate one first');
  }
  return active;
}

/**
 * The version that was active before the current one, from the audit trail of activations (rollbacks
 * are activations too, so rolling back twice returns to where it started).
 */
async function previousActive(store: RegistryStore, active: number): Promise<number | undefined> {
  const activations: number[] = [];
  for (let after = 0; ; ) {
    const page = await store.listAuditRecords({ after, limit: 1000 });
    for (const record of page) {
      if (record.action === 'policy.activate') activations.push(Number(record.target));
    }
    if (page.length < 1000) break;
    after = page[page.length - 1]!.id;
  }
  while (activations.length > 0 && activations[activations.length - 1] === active) activations.pop();
  return activations.pop();
}

async function checked(validate: ValidatePolicy, text: string, format: 'yaml' | 'json'): Promise<void> {
  const issues = await validate(text, format);
  if (issues.length > 0) {
    throw new AdminApiError(
      422,
      'ERR_POLICY_INVALID',
      `the policy does not load (${issues.length} ${issues.length === 1 ? 'error' : 'errors'}): ${issues
        .slice(0, 5)
        .map((i) => `${i.line === undefined ? '' : `${i.line}:${i.column ?? 1}: `}${i.message}`)
        .join('; ')}`,
      issues,
    );
  }
}

/** Policy routes: upload, validate, list, get, diff, activate, roll back, simulate. */
export function policyRoutes(
  store: RegistryStore,
  validate: ValidatePolicy,
  simulate: SimulatePolicy,
): AdminRoute[] {
  return [
    route<unknown, unknown, z.output<typeof PolicyUploadSchema>>({
      method: 'POST',
      path: '/policies',
      scope: 'policy',
      summary: 'Upload a policy version (validated; not active until activated)',
      body: PolicyUploadSchema,
      headers: [IDEMPOTENCY_HEADER],
      responses: {
        201: { description: 'stored', schema: PolicyVersionSchema },
        ...COMMON_ERRORS,
        ...invalidPolicy,
      },
      async handler({ body, context }, reply) {
        await checked(validate, body.text, body.format);
        reply.code(201);
        return policyView(await store.addPolicyVersion(body, context()), false);
      },
    }),
    route<unknown, unknown, z.output<typeof PolicyUploadSchema>>({
      method: 'POST',
      path: '/policies:validate',
      scope: 'policy',
      summary: 'Validate a policy document without storing it',
      body: PolicyUploadSchema,
      responses: {
        200: { description: 'it loads', schema: z.object({ valid: z.literal(true) }) },
        ...COMMON_ERRORS,
        ...invalidPolicy,
      },
      async handler({ body }) {
        await checked(validate, body.text, body.format);
        return { valid: true };
      },
    }),
    route({
      method: 'GET',
      path: '/policies',
      scope: 'read',
      summary: 'List policy versions (without their text)',
      responses: {
        200: { description: 'the versions', schema: z.object({ policies: z.array(PolicyVersionSchema) }) },
        ...COMMON_ERRORS,
      },
      async handler() {
        return { policies: (await store.listPolicyVersions()).map((p) => policyView(p, false)) };
      },
    }),
    route<VersionParams>({
      method: 'GET',
      path: '/policies/{v}',
      scope: 'read',
      summary: 'Get a policy version with its text',
      params: VersionParamsSchema,
      responses: { 200: one, ...COMMON_ERRORS, ...notFound },
      async handler({ params }) {
        return policyView(await version(store, params.v), true);
      },
    }),
    route<VersionParams, z.output<typeof DiffQuerySchema>>({
      method: 'GET',
      path: '/policies/{v}/diff',
      scope: 'read',
      summary: 'Line diff of version v against another (default: the active one)',
      params: VersionParamsSchema,
      query: DiffQuerySchema,
      responses: {
        200: {
          description: 'lines prefixed "  " (kept), "- " (only in against), "+ " (only in v)',
          schema: z.object({ from: z.int(), to: z.int(), lines: z.array(z.string()) }),
        },
        ...COMMON_ERRORS,
        ...notFound,
      },
      async handler({ params, query }) {
        const to = await version(store, params.v);
        const from =
          query.against === undefined ? await activeVersion(store) : await version(store, query.against);
        return { from: from.version, to: to.version, lines: lineDiff(from.text, to.text) };
      },
    }),
    route<VersionParams, unknown, z.output<typeof ActivateSchema>>({
      method: 'POST',
      path: '/policies/{v}:activate',
      scope: 'policy',
      summary: 'Make version v the one every replica enforces (expectedActive guards a race)',
      params: VersionParamsSchema,
      body: ActivateSchema,
      headers: [IDEMPOTENCY_HEADER],
      responses: { 200: one, ...COMMON_ERRORS, ...notFound, ...conflict },
      async handler({ params, body, context }) {
        await version(store, params.v);
        const active = await store.activatePolicyVersion(params.v, context(), body.expectedActive);
        return policyView(active, false);
      },
    }),
    route<unknown, unknown, z.output<typeof RollbackSchema>>({
      method: 'POST',
      path: '/policies:rollback',
      scope: 'policy',
      summary: 'Activate the version that was active before the current one',
      body: RollbackSchema,
      headers: [IDEMPOTENCY_HEADER],
      responses: { 200: one, ...COMMON_ERRORS, ...conflict },
      async handler({ body, context }) {
        const active = await activeVersion(store);
        const previous = await previousActive(store, active.version);
        if (previous === undefined) {
          throw new AdminApiError(
            409,
            'ERR_ADMIN_NO_POLICY',
            `version ${active.version} is the first one activated: nothing to roll back to`,
          );
        }
        const expected = body.expectedActive ?? active.version;
        return policyView(await store.activatePolicyVersion(previous, context(), expected), false);
      },
    }),
    route<unknown, unknown, z.output<typeof SimulateSchema>>({
      method: 'POST',
      path: '/policies:simulate',
      scope: 'read',
      summary:
        'Would this device be allowed to publish, subscribe or receive this topic? With the explanation',
      body: SimulateSchema,
      responses: {
        200: {
          description: 'the decision, every related rule (with file:line) and the rendered explanation',
          schema: z.object({
            version: z.int(),
            allowed: z.boolean(),
            reason: z.string(),
            message: z.string().optional(),
            rules: z.array(
              z.object({
                label: z.string(),
                effect: z.enum(['allow', 'deny']),
                action: z.string(),
                topic: z.string().optional(),
                relation: z.string(),
                applies: z.boolean(),
                why: z.string().optional(),
              }),
            ),
            text: z.string(),
          }),
        },
        ...COMMON_ERRORS,
        404: { description: 'no such device or version', schema: ErrorSchema },
        409: { description: 'no active version', schema: ErrorSchema },
      },
      async handler({ body }) {
        const policy =
          body.version === undefined ? await activeVersion(store) : await version(store, body.version);
        let principal: Principal;
        if (body.deviceId !== undefined) {
          const device = await store.getDevice(body.deviceId);
          if (!device) throw new AdminApiError(404, 'ERR_ADMIN_NOT_FOUND', `no device "${body.deviceId}"`);
          principal = {
            id: device.id,
            username: device.username,
            clientId: body.clientId ?? device.clientIds[0] ?? device.id,
            method: 'password',
            roles: device.roles,
            groups: device.groups,
            attributes: device.attributes,
          };
        } else {
          const given = body.principal!;
          principal = { ...given, clientId: body.clientId ?? given.id, attributes: given.attributes ?? {} };
        }
        const request = { action: body.action, topic: body.topic, qos: body.qos, retain: body.retain };
        const explanation = await simulate({ policy, principal, request });
        const { decision } = explanation;
        return {
          version: policy.version,
          allowed: decision.allowed,
          reason: decision.reason,
          message: decision.message,
          rules: explanation.rules.map((r) => ({
            label: r.label,
            effect: r.rule.effect,
            action: r.action,
            topic: r.rule.topic,
            relation: r.relation,
            applies: r.applies,
            why: r.why,
          })),
          text: formatExplanation(explanation),
        };
      },
    }),
  ];
}
