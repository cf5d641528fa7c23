// argon2 compiles from source on Node 20 (its prebuild needs Node-API 10). node-gyp would download
// Node's headers from nodejs.org; point it at the headers that ship with the running Node instead,
// so that `pnpm install` works offline and behind registries that mirror only npm.
const fs = require('node:fs');
const path = require('node:path');
const prefix = path.resolve(process.execPath, '..', '..');
if (!process.env.npm_config_nodedir && fs.existsSync(path.join(prefix, 'include', 'node', 'common.gypi'))) {
  process.env.npm_config_nodedir = prefix;
}
module.exports = {};
