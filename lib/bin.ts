#!/usr/bin/env node
/** The `sam-cobot` executable: runs the CLI and exits with its status. */
import { main } from './cli.js';

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
