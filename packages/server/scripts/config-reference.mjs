// Writes the config reference from the zod schema (ServerConfigSchema), so neither can drift from it:
// packages/server/warden.schema.json (the JSON Schema shipped in the package, for editors) and the
// generated part of docs/config-reference.md. Run after a schema change: pnpm run config-reference
// (test/config-reference.test.ts fails while either file is stale).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { CONFIG_SCHEMA_FILE, configJsonSchema, withConfigReference } from '../dist/config-reference.js';

const schema = configJsonSchema();
const schemaFile = new URL(`../${CONFIG_SCHEMA_FILE}`, import.meta.url);
writeFileSync(schemaFile, `${JSON.stringify(schema, null, 2)}\n`);
const doc = new URL('../../../docs/config-reference.md', import.meta.url);
writeFileSync(doc, withConfigReference(existsSync(doc) ? readFileSync(doc, 'utf8') : '', schema));
