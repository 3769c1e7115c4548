import { beforeAll, expect, it } from 'vitest';
import { describeOnBackends } from '../support/db.js';
import { jsonb, utcTimestampLiteral } from '../../src/db/values.js';

/** The seam's promise: rows and results look the same whichever database answered. */
describeOnBackends('database seam', { migrate: false }, (t) => {
  beforeAll(async () => {
    await t.knex.raw('create table seam (id text primary key, b bytea, ts timestamp, tz timestamptz, n bigint, j jsonb)');
  });

  it('a failed query\'s error shows the statement with placeholders, never the bound values', async () => {
    const secret = '$2b$13$SecretHashThatMustNotLeakAnywhere';
    const err = await t.knex('no_such_table').insert({ h: secret }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/relation "no_such_table" does not exist/);
    expect((err as Error).message).not.toContain(secret);
    const raw = await t.knex.raw('select * from seam where id = ? and nope = ?', [secret, 1]).catch((e: Error) => e);
    expect((raw as Error).message).toMatch(/column "nope" does not exist/);
    expect((raw as Error).message).not.toContain(secret);
  });

  it('update and delete return affected row counts', async () => {
    await t.knex('seam').insert([{ id: 'a' }, { id: 'b' }, { id: 'c' }]);
    expect(await t.knex('seam').whereIn('id', ['a', 'b']).update({ n: 1 })).toBe(2);
    expect(await t.knex('seam').where({ id: 'zz' }).update({ n: 1 })).toBe(0);
    expect(await t.knex('seam').where({ id: 'zz' }).delete()).toBe(0);
    expect(await t.knex('seam').whereIn('id', ['a', 'b', 'c']).delete()).toBe(3);
    expect(await t.knex('seam').increment('n', 1)).toBe(0);
  });

  it('BYTEA is a Buffer, BIGINT a number, kaiju TIMESTAMP a UTC Date, JSONB parsed', async () => {
    const at = new Date('2023-06-27T19:26:00.123Z');
    await t.knex('seam').insert({
      id: 'x',
      b: Buffer.from([0, 1, 254, 255]),
      ts: utcTimestampLiteral(at),
      tz: at,
      n: 9007199254740991,
      j: jsonb(['a', { k: 1 }]),
    });
    const row = await t.knex('seam').where({ id: 'x' }).first();
    expect(Buffer.isBuffer(row.b)).toBe(true);
    expect([...row.b]).toEqual([0, 1, 254, 255]);
    expect(row.ts).toEqual(at);
    expect(row.tz).toEqual(at);
    expect(row.n).toBe(9007199254740991);
    expect(row.j).toEqual(['a', { k: 1 }]);
    const count = await t.knex('seam').count({ n: '*' }).first();
    expect(count?.n).toBe(1);
  });

  it('text[] is an array of its elements whichever backend answered (quotes, commas, braces, NULL, empty)', async () => {
    const elements = ['plain', 'a,b', '"quoted"', 'back\\slash', '{braces}', '', ' space ', 'NULL', null];
    const list = elements.map(() => '?::text').join(', ');
    const row = (await t.knex.raw(`select array[${list}] as arr, array[]::text[] as empty`, elements)).rows[0];
    expect(row.arr).toEqual(elements);
    expect(row.empty).toEqual([]);
  });
});
