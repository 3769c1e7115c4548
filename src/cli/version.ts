/** The package version, read once from package.json (dist/src/cli/ is three levels below it). */
import { createRequire } from 'node:module';

export const VERSION = (createRequire(import.meta.url)('../../../package.json') as { version: string }).version;
