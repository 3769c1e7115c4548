/**
 * commander's classes, loaded once through `require`. commander is CommonJS: an ES `import` of it
 * goes through its ES wrapper and Node's scan of its exports, which cost more than building the
 * whole command tree (measured: ~14 ms of a ~60 ms `--help`). Import values from here; types
 * from 'commander' with `import type` (lint enforces it).
 */
import { createRequire } from 'node:module';
import type * as CommanderModule from 'commander';

const commander = createRequire(import.meta.url)('commander') as typeof CommanderModule;

export const { Argument, Command, InvalidArgumentError, Option } = commander;
export type Argument = CommanderModule.Argument;
export type Command = CommanderModule.Command;
export type InvalidArgumentError = CommanderModule.InvalidArgumentError;
export type Option = CommanderModule.Option;
