// CommonJS builds (dist/cjs) of the packages that @mqtt-warden/testing needs, for jest's default CommonJS
// mode and require(): jest cannot require() ES modules before Node 24.9, whatever Node itself allows.
// The ES build (dist) stays the primary one; both come from the same src/ by tsc.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const CJS_PACKAGES = ['topic', 'core', 'policy', 'testing'];
const root = fileURLToPath(new URL('../', import.meta.url));
const tsc = fileURLToPath(new URL('../node_modules/typescript/bin/tsc', import.meta.url));

for (const name of CJS_PACKAGES) {
  const dir = `${root}packages/${name}/`;
  execFileSync(
    process.execPath,
    [
      tsc,
      ...['-p', `${dir}tsconfig.json`, '--outDir', `${dir}dist/cjs`],
      ...['--module', 'commonjs', '--moduleResolution', 'node10', '--verbatimModuleSyntax', 'false'],
      ...[
        '--composite',
        'false',
        '--incremental',
        'false',
        '--declarationMap',
        'false',
        '--sourceMap',
        'false',
      ],
    ],
    { stdio: 'inherit' },
  );
  // Inside a "type": "module" package, .js files are ES modules unless a nearer package.json says otherwise.
  writeFileSync(`${dir}dist/cjs/package.json`, '{ "type": "commonjs" }\n');
}
