/**
 * An import from an `ImportInput` (what the CLI makes of stdin: bytes read through a decrypting
 * stream, named `stdin`) behaves as an import from a file: every format, both passes, problems
 * located, the audit row naming the input. The input is opened once per pass and read from the
 * start each time.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { beforeAll, beforeEach, expect, it } from 'vitest';
import type { KaijuAuth } from '../../src/core/auth.js';
import type { ImportInput } from '../../src/core/bulk/source.js';
import type { ImportFormat } from '../../src/core/bulk/types.js';
import { describeOnBackends } from '../support/db.js';
import { testAuth } from '../support/auth.js';

/** The bytes, kept only encrypted, decrypted as they are read; counts the opens. */
function encryptedInput(text: string): ImportInput & { opens: number } {
  const key = randomBytes(32);
  const iv = randomBytes(16);
  const cipher = createCipheriv('aes-256-ctr', key, iv);
  const stored = Buffer.concat([cipher.update(text), cipher.final()]);
  const input = {
    name: 'stdin',
    opens: 0,
    open(options: { highWaterMark?: number } = {}) {
      input.opens += 1;
      const size = options.highWaterMark ?? 7; // small chunks: records cut anywhere
      const chunks = [];
      for (let i = 0; i < stored.length; i += size) chunks.push(stored.subarray(i, i + size));
      return Readable.from(chunks, { objectMode: false }).pipe(createDecipheriv('aes-256-ctr', key, iv));
    },
    async stat() {
      return { size: stored.length, stamp: `${stored.length}:fixed` };
    },
  };
  return input;
}

const PW = 'input password 1';
const rows = [
  { username: 'alice', email: 'alice@example.com', password: PW, groups: ['readers'] },
  { username: 'bobby', email: 'bobby@example.com', password: PW, groups: ['readers', 'writers'] },
];
const texts: Record<ImportFormat, string> = {
  csv: `username,email,password,password_hash,groups\n${rows.map((r) => `${r.username},${r.email},${r.password},,${r.groups.join(';')}`).join('\n')}\n`,
  jsonl: `${rows.map((r) => JSON.stringify(r)).join('\n')}\n`,
  json: JSON.stringify(rows),
};

describeOnBackends('import from an ImportInput', { fresh: true }, (t) => {
  let auth: KaijuAuth;

  beforeAll(async () => {
    auth = testAuth(t);
  });
  beforeEach(async () => {
    for (const g of ['readers', 'writers']) await auth.groups.create(g);
  });

  for (const format of ['csv', 'jsonl', 'json'] as const) {
    it(`${format}: the users and their groups, read twice from the start, audited as stdin`, async () => {
      const input = encryptedInput(texts[format]);
      const report = await auth.bulk.import(input, { format, rounds: 4 });
      expect(report.created.users).toBe(2);
      expect(report.errors).toEqual([]);
      expect(input.opens).toBe(2);
      expect(await auth.users.groups('bobby')).toEqual(['readers', 'writers']);
      const audit = await t.knex('audit_log').where({ command: 'user.import' }).select('target');
      expect(audit.map((a) => a.target)).toEqual(['stdin']);
    });
  }

  it('problems are located as in a file (a broken JSON array: its line and column)', async () => {
    const report = await auth.bulk.import(encryptedInput('[{"username": "alice",\n "email": }]'), { format: 'json', rounds: 4 });
    expect(report.created.users).toBe(0);
    expect(report.errors).toMatchObject([{ row: 0, code: 'data.file_invalid', line: 2 }]);
    const bad = await auth.bulk.import(encryptedInput('{"username": "x"}\nnot json\n'), { format: 'jsonl', rounds: 4 });
    expect(bad.errors.map((e) => `${e.row}:${e.code}`)).toContain('2:data.file_invalid');
  });
});
