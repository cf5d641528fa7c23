#!/usr/bin/env node
// The installed `mqtt-warden` command. npm and pnpm reach it through a symlink or a shim, so it must not
// compare import.meta.url with process.argv[1]: it always runs the command line.
import { main } from './cli.js';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(`mqtt-warden: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 2;
  },
);
