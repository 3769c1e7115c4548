import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { csvRecords } from '../../src/core/bulk/csv-records.js';
import type { RawRecord } from '../../src/core/bulk/records.js';

let dir: string;
let n = 0;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'kaiju-csv-'));
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

async function read(content: string | Buffer, chunkBytes?: number): Promise<RawRecord[]> {
  const file = path.join(dir, `${n++}.csv`);
  await writeFile(file, content);
  const all: RawRecord[] = [];
  for await (const chunk of csvRecords(file, undefined, chunkBytes)) all.push(...chunk);
  return all;
}

const quote = (s: string) => (/[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

/** Users whose names need every kind of quoting, and characters of 1 to 4 UTF-8 bytes. */
function sample(count: number) {
  return Array.from({ length: count }, (_, i) => ({
    username: `user${i}`,
    email: `user${i}@example.com`,
    password_hash: `hash${i}`,
    full_name: [`Plain ${i}`, `Comma, ${i}`, `Quote "${i}"`, `Two\r\nlines ${i}`, `Ünïcødé 日本 😀 ${i}`, `Bare\nfeed ${i}`][i % 6] as string,
    groups: i % 4 ? 'a;b' : '',
  }));
}

function csvOf(rows: ReturnType<typeof sample>, eol: string, emptyEvery = 0): { text: string; lines: number[] } {
  const cols = ['username', 'email', 'password_hash', 'full_name', 'groups'] as const;
  let text = `${cols.join(',')}${eol}`;
  let line = 1;
  const lines: number[] = [];
  rows.forEach((r, i) => {
    if (emptyEvery && i % emptyEvery === 0) {
      text += eol;
      line += 1;
    }
    const record = cols.map((c) => quote(r[c])).join(',');
    lines.push(line + 1);
    line += 1 + (record.match(/\n/g)?.length ?? 0);
    text += record + eol;
  });
  return { text, lines };
}

describe('CSV import records', () => {
  it('the same records and line numbers however the file is cut into chunks (quotes, CRLF, UTF-8 across the cuts)', async () => {
    const rows = sample(60);
    const { text, lines } = csvOf(rows, '\r\n', 7);
    const expected = rows.map((r, i) => ({ row: i + 1, line: lines[i], fields: r }));
    const file = `\uFEFF${text}`;
    for (const size of [1, 2, 3, 5, 13, 64, 1000, 1 << 16]) {
      expect(await read(file, size), `chunks of ${size} bytes`).toEqual(expected);
    }
  });

  it('a large file through the default chunks: LF endings, no final line break', async () => {
    const rows = sample(4000);
    const { text, lines } = csvOf(rows, '\n', 500);
    const records = await read(text.slice(0, -1));
    expect(records).toHaveLength(4000);
    expect(records.map((r) => r.line)).toEqual(lines);
    expect(records[3999]).toEqual({ row: 4000, line: lines[3999], fields: rows[3999] });
    expect(Buffer.byteLength(text)).toBeGreaterThan(3 * (1 << 16));
  });

  it('a bare line feed inside an unquoted field of a CRLF file is text, and still counts as a line', async () => {
    const records = await read('username,email,password\r\nbob,b@ex\nample.com,pw\r\ncarol,c@example.com,pw\r\n');
    expect(records).toEqual([
      { row: 1, line: 2, fields: { username: 'bob', email: 'b@ex\nample.com', password: 'pw' } },
      { row: 2, line: 4, fields: { username: 'carol', email: 'c@example.com', password: 'pw' } },
    ]);
  });

  it('old Mac line breaks (CR only)', async () => {
    const records = await read('username,email,password\ralice,a@example.com,pw\r\rbob,b@example.com,pw\r', 4);
    expect(records).toEqual([
      { row: 1, line: 2, fields: { username: 'alice', email: 'a@example.com', password: 'pw' } },
      { row: 2, line: 4, fields: { username: 'bob', email: 'b@example.com', password: 'pw' } },
    ]);
  });

  it('rows that cannot be read are located at the line they start on', async () => {
    const head = ['username,email,password', 'alice,a@example.com,pw', 'short,s@example.com', '"multi', 'line",b@example.com,pw,extra', 'carol,c@example.com,pw'];
    const where = (records: RawRecord[]) => records.map((r) => [r.row, r.line, r.fields ? 'ok' : 'problem']);
    const records = await read(head.join('\n'), 8);
    expect(where(records)).toEqual([
      [1, 2, 'ok'],
      [2, 3, 'problem'],
      [3, 4, 'problem'],
      [4, 6, 'ok'],
    ]);
    expect(records[1]?.problem?.message).toMatch(/expected 3 fields/);
    // A quote left open runs to the end of the file, and one closed too early takes the text up
    // to the next quote: either way that record is the last, and it is a problem.
    for (const broken of ['dave,"d@example.com,pw', '"dave"x,d@example.com,pw']) {
      const more = await read([...head, broken, 'erin,e@example.com,pw'].join('\r\n'), 5);
      expect(where(more).at(-1)).toEqual([5, 7, 'problem']);
      expect(more).toHaveLength(5);
    }
  });

  it('the header: names trimmed; unknown, missing or repeated columns stop the file', async () => {
    expect(await read(' username , email ,password_hash\nx,y,z\n')).toEqual([{ row: 1, line: 2, fields: { username: 'x', email: 'y', password_hash: 'z' } }]);
    for (const header of ['username,mail,password', 'username,email', 'username,email,password,email']) {
      const records = await read(`${header}\nx,y,z\n`);
      expect(records).toEqual([expect.objectContaining({ row: 0, line: 1, fatal: true })]);
    }
    expect(await read('')).toEqual([expect.objectContaining({ row: 0, fatal: true, problem: { message: expect.stringMatching(/empty file/) } })]);
    expect(await read('\uFEFF\n\n')).toEqual([expect.objectContaining({ row: 0, fatal: true })]);
    expect(await read('username,email,password')).toEqual([]);
  });

  it('a record too long to be a user (an unclosed quote early in a big file) stops reading instead of buffering the file', async () => {
    const filler = 'x,y@example.com,pw\n'.repeat(70_000);
    const records = await read(`username,email,password\nalice,a@example.com,pw\n"open,b@example.com,pw\n${filler}`);
    expect(records[0]).toMatchObject({ row: 1, fields: { username: 'alice' } });
    expect(records.at(-1)).toMatchObject({ row: 0, fatal: true, problem: { message: expect.stringMatching(/quote/) } });
    expect(records).toHaveLength(2);
  });
});

describe('the line break of a CSV file', () => {
  it('is not one inside a quoted header name, nor a stray carriage return: the header never swallows the rows (their passwords)', async () => {
    const rows = 'user1,user1@example.com,secret password 1\n';
    for (const header of ['username,email,password,"odd\r\nname"\n', 'username,email,password,odd\u0000\rname\n']) {
      const recs = await read(header + rows);
      const problem = recs.find((r) => r.fatal)?.problem?.message ?? '';
      expect(problem).toMatch(/^bad header: unknown column\(s\) "odd/);
      expect(problem).not.toContain('secret password');
    }
  });

  it('a file of bare carriage returns still reads as lines', async () => {
    const recs = await read('username,email,password\ruser1,user1@example.com,pw 1\ruser2,user2@example.com,pw 2\r');
    expect(recs.map((r) => r.fields?.username)).toEqual(['user1', 'user2']);
  });
});
