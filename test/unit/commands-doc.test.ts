/** docs/commands.md is what the command table gives (`npm run docs` rewrites it): no drift. */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { commandsDoc } from '../../dist/src/cli/commands-doc.js';
import { ROOT } from '../support/cli.js';

describe('docs/commands.md', () => {
  it('is generated from the command table (run `npm run docs` after changing a command)', async () => {
    const checkedIn = await readFile(path.join(ROOT, 'docs', 'commands.md'), 'utf8');
    expect(checkedIn === (await commandsDoc()), 'docs/commands.md differs from the table: run npm run docs').toBe(true);
  });

  it('names every command and every option of the table', async () => {
    const doc = await commandsDoc();
    for (const needle of ['`kaiju-auth user register`', '`kaiju-auth migrate down`', '`--password-stdin`', '`--on-conflict <policy>`', 'env `KAIJU_AUTH_ACCESS_TTL`']) {
      expect(doc).toContain(needle);
    }
  });
});
