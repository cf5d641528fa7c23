import { z } from 'zod';
import type { AdminRoute } from './admin-route.js';

/** The path prefix of every admin route. */
export const ADMIN_PREFIX = '/admin/v1';

type JsonSchema = Record<string, unknown>;

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as JsonSchema;
  return rest;
}

/** The members of an object schema (through refinements), for parameters. */
function members(schema: z.ZodType | undefined): [string, z.ZodType][] {
  if (!schema) return [];
  const shape = (schema as unknown as { shape?: Record<string, z.ZodType> }).shape;
  return shape ? Object.entries(shape) : [];
}

/**
 * The OpenAPI 3.1 document of the routes, generated from the same zod schemas that validate requests, so
 * it cannot drift from what the server accepts.
 *
 * @example
 * ```ts
 * const document = openApiDocument(routes); // served at /admin/v1/openapi.json
 * ```
 */
export function openApiDocument(routes: readonly AdminRoute[], version = '1.0.0'): JsonSchema {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const spec of routes) {
    const parameters = [
      ...members(spec.params).map(([name, schema]) => ({
        name,
        in: 'path',
        required: true,
        schema: jsonSchema(schema, 'input'),
      })),
      ...members(spec.query).map(([name, schema]) => ({
        name,
        in: 'query',
        required: !schema.safeParse(undefined).success,
        schema: jsonSchema(schema, 'input'),
      })),
      ...(spec.headers ?? []).map(({ name, description }) => ({
        name,
        in: 'header',
        required: false,
        description,
        schema: { type: 'string' },
      })),
    ];
    const requestBody = spec.stream
      ? {
          required: true,
          description: spec.stream.description,
          content: Object.fromEntries(
            spec.stream.mediaTypes.map((type) => [type, { schema: { type: 'string' } }]),
          ),
        }
      : spec.body
        ? { required: true, content: { 'application/json': { schema: jsonSchema(spec.body, 'input') } } }
        : undefined;
    const responses = Object.fromEntries(
      Object.entries(spec.responses).map(([status, { description, schema }]) => [
        status,
        schema
          ? { description, content: { 'application/json': { schema: jsonSchema(schema, 'output') } } }
          : { description },
      ]),
    );
    const operationId = `${spec.method.toLowerCase()}${spec.path
      .replace(/[{}]/g, '')
      .split(/[/:-]/)
      .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
      .join('')}`;
    paths[`${ADMIN_PREFIX}${spec.path}`] ??= {};
    paths[`${ADMIN_PREFIX}${spec.path}`]![spec.method.toLowerCase()] = {
      operationId,
      summary: spec.summary,
      description: `Scope: ${spec.scope}.`,
      'x-scope': spec.scope,
      ...(parameters.length > 0 ? { parameters } : {}),
      ...(requestBody ? { requestBody } : {}),
      responses,
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'mqtt-warden admin API',
      version,
      description:
        'Devices, credentials, policy versions and audit of an mqtt-warden registry. Authenticate with an admin token (`Authorization: Bearer mwa_…`, from `mqtt-warden admin token create`) or a client certificate. Errors are `{ "error": { "code", "message" } }`.',
    },
    components: {
      securitySchemes: {
        adminToken: { type: 'http', scheme: 'bearer', bearerFormat: 'mwa_<id>_<secret>' },
        clientCertificate: { type: 'mutualTLS' },
      },
    },
    security: [{ adminToken: [] }, { clientCertificate: [] }],
    paths,
  };
}
