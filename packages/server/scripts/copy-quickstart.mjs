// Copies examples/quickstart's config, policy and users file into the server package (quickstart/), which
// `mqtt-warden serve` runs on without --config and `mqtt-warden init` starts from. The repository's
// examples/quickstart stays the one source: this copy is generated (gitignored) by `pnpm build` and prepack.
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const from = new URL('../../../examples/quickstart/', import.meta.url);
const to = new URL('../quickstart/', import.meta.url);
export const QUICKSTART_FILES = ['warden.yaml', 'policy.yaml', 'users.yaml'];

if (!existsSync(from)) {
  // Packing outside the repository (from an unpacked tarball): the shipped copy is already there.
  if (!existsSync(new URL('warden.yaml', to))) throw new Error(`missing ${fileURLToPath(from)}`);
} else {
  mkdirSync(to, { recursive: true });
  for (const name of QUICKSTART_FILES) copyFileSync(new URL(name, from), new URL(name, to));
  // The editor schema line points at the repository's copy; in the package it is one directory up.
  const config = new URL('warden.yaml', to);
  writeFileSync(
    config,
    readFileSync(config, 'utf8').replace(
      /^(# yaml-language-server: \$schema=).*$/m,
      '$1../warden.schema.json',
    ),
  );
}
