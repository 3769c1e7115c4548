#!/usr/bin/env node
// Thin launcher: all logic lives in the compiled CLI so startup loads only what a command needs.
import '../dist/src/cli/main.js';
