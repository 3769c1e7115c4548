#!/usr/bin/env node
// Thin launcher: all logic lives in the compiled CLI so startup loads only what a command needs.
//
// CommonJS on purpose (bin/package.json): libuv sizes its thread pool from UV_THREADPOOL_SIZE the
// first time the pool is used, and loading an ES module entry already uses it. Here nothing has
// touched the pool yet, so bcrypt (whose async API runs there) gets one thread per CPU, while never
// fewer than libuv's default of 4 (file and DNS work share the pool). A value the user set wins.
/* global require */
/* eslint-disable @typescript-eslint/no-require-imports */
'use strict';
if (!process.env.UV_THREADPOOL_SIZE) {
  process.env.UV_THREADPOOL_SIZE = String(Math.max(4, require('node:os').availableParallelism()));
}

// Node 22.1+ can cache compiled code between runs. On older Node this does nothing.
require('node:module').enableCompileCache?.();

// The CLI bundle (scripts/bundle-cli.mjs, made by `npm run build`): one file and its chunks instead
// of the ~900 modules a command that opens a database would otherwise resolve and read.
import('../dist/cli/main.js');
