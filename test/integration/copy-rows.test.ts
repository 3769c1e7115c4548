/** The COPY seam (src/db/copy.ts) on both backends: text format escapes, transactions, constraint errors. */
import { beforeAll, beforeEach, expect, it } from 'vitest';
import { CopyText, copyRows } from '../../src/db/copy.js';
import { isUniqueViolation } from '../../src/db/errors.js';
import { describeOnBackends } from '../support/db.js';

const TRICKY = ['plain', 'tab\there', 'line\nfeed', 'cr\rlf\r\n', 'back\\slash', '\\N', '', 'Ünïcødé 日本 😀', ' spaces '];

describeOnBackends('copyRows', (t) => {
  const rows = () => t.knex('copy_probe').orderBy('n').select('n', 'label', 'flag');

  beforeAll(async () => {
    await t.knex.raw('create table copy_probe (n int primary key, label text, flag boolean)');
  });
  beforeEach(async () => {
    await t.knex('copy_probe').delete();
  });

  it('every value comes back as it was written: escapes, empty text and null, UTF-8, booleans', async () => {
    const text = new CopyText();
    TRICKY.forEach((label, i) => text.row(String(i), label, i % 2 === 0));
    text.row('99', null, undefined);
    expect(text.rows).toBe(TRICKY.length + 1);
    await copyRows(t.knex, 'copy_probe', ['n', 'label', 'flag'], text.bytes());
    expect(await rows()).toEqual([...TRICKY.map((label, i) => ({ n: i, label, flag: i % 2 === 0 })), { n: 99, label: null, flag: null }]);
  });

  it('many rows (the buffer grows past its first block); text given as a string works too', async () => {
    const text = new CopyText();
    for (let i = 0; i < 5000; i++) text.row(String(i), `label number ${i} ${'x'.repeat(40)}`, true);
    expect(text.bytes().length).toBeGreaterThan(1 << 17);
    await copyRows(t.knex, 'copy_probe', ['n', 'label', 'flag'], text.bytes());
    await copyRows(t.knex, 'copy_probe', ['n', 'label'], '5000\tlast\n');
    expect(await t.knex('copy_probe').count({ n: '*' }).first()).toMatchObject({ n: 5001 });
    expect((await rows()).at(-1)).toEqual({ n: 5000, label: 'last', flag: null });
  });

  it('inside a transaction: rolled back with it; a constraint violation rejects with its SQLSTATE and constraint', async () => {
    await expect(
      t.knex.transaction(async (trx) => {
        await copyRows(trx, 'copy_probe', ['n', 'label'], '1\tone\n2\ttwo\n');
        expect(await trx('copy_probe').count({ n: '*' }).first()).toMatchObject({ n: 2 });
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    expect(await rows()).toEqual([]);

    await copyRows(t.knex, 'copy_probe', ['n', 'label'], '1\tone\n');
    const err = await t.knex
      .transaction(async (trx) => {
        await trx('copy_probe').insert({ n: 7, label: 'seven' });
        await copyRows(trx, 'copy_probe', ['n', 'label'], '2\ttwo\n1\tagain\n');
      })
      .catch((e: unknown) => e);
    expect(isUniqueViolation(err, 'copy_probe_pkey')).toBe(true);
    expect(await rows()).toEqual([{ n: 1, label: 'one', flag: null }]);
  });

  it('refuses identifiers that are not plain names', async () => {
    await expect(copyRows(t.knex, 'copy_probe; drop table users', ['n'], '1\n')).rejects.toThrow(/identifier/);
    await expect(copyRows(t.knex, 'copy_probe', ['n"'], '1\n')).rejects.toThrow(/identifier/);
  });
});
