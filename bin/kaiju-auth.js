#!/usr/bin/env node
// Thin launcher: all logic lives in the compiled CLI so startup loads only what a command needs.
import module from 'node:module';

// Node 22.1+ can cache compiled code between runs (a command that opens a database loads knex:
// hundreds of modules). On older Node this does nothing.
module.enableCompileCache?.();

await import('../dist/src/cli/main.js');
