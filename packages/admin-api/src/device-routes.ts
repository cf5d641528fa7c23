import type { DeviceInput, DevicePatch, RegistryStore } from '@mqtt-warden/registry';
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { AdminApiError } from './admin-api-error.js';
import { type AdminRoute, COMMON_ERRORS, IDEMPOTENCY_HEADER, route } from './admin-route.js';
import { importDevices } from './device-import.js';
import {
  DeviceInputSchema,
  DeviceParamsSchema,
  DevicePatchSchema,
  DeviceQuerySchema,
  DeviceSchema,
  EmptySchema,
  ErrorSchema,
} from './schemas.js';
import { deviceView } from './views.js';

const IF_MATCH = {
  name: 'If-Match',
  description: 'the device version (its ETag): 409 when it changed since',
};
const notFound = { 404: { description: 'no such device', schema: ErrorSchema } };
const conflict = { 409: { description: 'version mismatch or duplicate', schema: ErrorSchema } };
const one = { description: 'the device', schema: DeviceSchema };

/** `If-Match: "3"` (or `3`) → 3; absent → undefined. */
export function expectedVersion(request: FastifyRequest): number | undefined {
  const header = request.headers['if-match'];
  if (header === undefined) return undefined;
  const match = typeof header === 'string' ? /^(?:W\/)?"?(\d{1,9})"?$/.exec(header.trim()) : null;
  if (!match) {
    throw new AdminApiError(
      400,
      'ERR_INVALID_INPUT',
      'If-Match must be the device version, e.g. If-Match: "3"',
    );
  }
  return Number(match[1]);
}

/** The store's form of a validated device (ISO dates become Dates). */
export function deviceInput(body: z.output<typeof DeviceInputSchema>): DeviceInput {
  return {
    ...body,
    notBefore: body.notBefore === undefined ? undefined : new Date(body.notBefore),
    expiresAt: body.expiresAt === undefined ? undefined : new Date(body.expiresAt),
  };
}

function devicePatch(body: z.output<typeof DevicePatchSchema>): DevicePatch {
  const date = (value: string | null | undefined) =>
    value === undefined ? undefined : value === null ? null : new Date(value);
  return { ...body, notBefore: date(body.notBefore), expiresAt: date(body.expiresAt) };
}

/** Device routes: create, bulk import, get, list, update, enable/disable, delete. */
export function deviceRoutes(store: RegistryStore, limits: { importBytes: number }): AdminRoute[] {
  const setEnabled = (enabled: boolean) =>
    route<z.output<typeof DeviceParamsSchema>>({
      method: 'POST',
      path: `/devices/{id}:${enabled ? 'enable' : 'disable'}`,
      scope: 'write',
      summary: enabled ? 'Enable a device' : 'Disable a device: none of its credentials authenticates',
      params: DeviceParamsSchema,
      body: EmptySchema,
      headers: [IF_MATCH, IDEMPOTENCY_HEADER],
      responses: { 200: one, ...COMMON_ERRORS, ...notFound, ...conflict },
      async handler({ params, request, context }, reply) {
        const device = await store.updateDevice(params.id, { enabled }, context(), expectedVersion(request));
        reply.header('etag', `"${device.version}"`);
        return deviceView(device);
      },
    });
  return [
    route<unknown, unknown, z.output<typeof DeviceInputSchema>>({
      method: 'POST',
      path: '/devices',
      scope: 'write',
      summary: 'Register a device (client id bound to its id unless clientIds says otherwise)',
      body: DeviceInputSchema,
      headers: [IDEMPOTENCY_HEADER],
      responses: { 201: { description: 'created', schema: DeviceSchema }, ...COMMON_ERRORS, ...conflict },
      async handler({ body, context }, reply) {
        const device = await store.createDevice(deviceInput(body), context());
        reply.code(201).header('etag', `"${device.version}"`);
        return deviceView(device);
      },
    }),
    route({
      method: 'POST',
      path: '/devices:import',
      scope: 'write',
      summary:
        'Create or replace many devices from JSON lines or CSV, streamed; bad rows are reported per row',
      stream: {
        mediaTypes: ['application/x-ndjson', 'text/csv'],
        description:
          'JSON lines: one device per line (as POST /devices, plus credentials with stored values). CSV: a header row naming columns among id, username, clientIds, roles, groups, enabled, notBefore, expiresAt, passwordHash (lists separated by ";").',
      },
      headers: [IDEMPOTENCY_HEADER],
      responses: {
        200: {
          description: 'rows written and rows refused (line and reason)',
          schema: z.object({
            created: z.int(),
            updated: z.int(),
            failed: z.int(),
            errors: z.array(z.object({ line: z.int(), code: z.string(), message: z.string() })),
          }),
        },
        ...COMMON_ERRORS,
        413: { description: 'the body or a line is too large', schema: ErrorSchema },
        415: { description: 'not JSON lines or CSV', schema: ErrorSchema },
      },
      handler: ({ request, context }) => importDevices(store, request, context, limits.importBytes),
    }),
    route<z.output<typeof DeviceParamsSchema>>({
      method: 'GET',
      path: '/devices/{id}',
      scope: 'read',
      summary: 'Get a device (ETag: its version)',
      params: DeviceParamsSchema,
      responses: { 200: one, ...COMMON_ERRORS, ...notFound },
      async handler({ params }, reply) {
        const device = await store.getDevice(params.id);
        if (!device) throw new AdminApiError(404, 'ERR_ADMIN_NOT_FOUND', `no device "${params.id}"`);
        reply.header('etag', `"${device.version}"`);
        return deviceView(device);
      },
    }),
    route<unknown, z.output<typeof DeviceQuerySchema>>({
      method: 'GET',
      path: '/devices',
      scope: 'read',
      summary: 'List devices by id, filtered; pass `next` as `after` for the next page',
      query: DeviceQuerySchema,
      responses: {
        200: {
          description: 'one page',
          schema: z.object({ devices: z.array(DeviceSchema), next: z.string().optional() }),
        },
        ...COMMON_ERRORS,
      },
      async handler({ query }) {
        const page = await store.listDevices({
          ...query,
          enabled: query.enabled === undefined ? undefined : query.enabled === 'true',
        });
        return { devices: page.devices.map(deviceView), next: page.next };
      },
    }),
    route<z.output<typeof DeviceParamsSchema>, unknown, z.output<typeof DevicePatchSchema>>({
      method: 'PATCH',
      path: '/devices/{id}',
      scope: 'write',
      summary: 'Change a device (If-Match: its version, else a concurrent change is overwritten)',
      params: DeviceParamsSchema,
      body: DevicePatchSchema,
      headers: [IF_MATCH, IDEMPOTENCY_HEADER],
      responses: { 200: one, ...COMMON_ERRORS, ...notFound, ...conflict },
      async handler({ params, body, request, context }, reply) {
        const device = await store.updateDevice(
          params.id,
          devicePatch(body),
          context(),
          expectedVersion(request),
        );
        reply.header('etag', `"${device.version}"`);
        return deviceView(device);
      },
    }),
    setEnabled(false),
    setEnabled(true),
    route<z.output<typeof DeviceParamsSchema>>({
      method: 'DELETE',
      path: '/devices/{id}',
      scope: 'write',
      summary: 'Delete a device, its credentials and its sessions',
      params: DeviceParamsSchema,
      headers: [IF_MATCH, IDEMPOTENCY_HEADER],
      responses: { 204: { description: 'deleted' }, ...COMMON_ERRORS, ...notFound, ...conflict },
      async handler({ params, request, context }, reply) {
        const deleted = await store.deleteDevice(params.id, context(), expectedVersion(request));
        if (!deleted) throw new AdminApiError(404, 'ERR_ADMIN_NOT_FOUND', `no device "${params.id}"`);
        reply.code(204);
        return undefined;
      },
    }),
  ];
}
