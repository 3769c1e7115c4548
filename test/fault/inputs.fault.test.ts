/**
 * Hostile input files and text, generated (issue 12 fault suite): user import files (CSV, JSON
 * Lines, JSON arrays) and seed fixtures built from valid records with hostile mutations (NUL raw
 * and escaped, unpaired surrogates, quotes, separators, line breaks, BOMs, deep and huge JSON,
 * unknown fields, wrong types, cut or garbled text), and search text. Each case gets its
 * documented outcome: a report whose problems name row (or path), field and code, with nothing
 * written when there is one; or a coded error with a documented exit code; never another
 * exception (exit 1). Successful cases store exactly what was given and a seed run again changes
 * nothing. Searches match literally (a model decides), and text nothing can contain matches
 * nothing. Parsers in-process by the thousand; writes on each database by the hundred; a sample
 * through the CLI (exit code, one line, no stack trace). Counts are printed; fewer under CI=true;
 * FAULT_SEED=N replays a run (fast-check also prints the seed of a failure).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toErrorReport } from '../../src/cli/exit-codes.js';
import type { KaijuAuth } from '../../src/core/auth.js';
import { readRecords } from '../../src/core/bulk/records.js';
import { checkRecord } from '../../src/core/bulk/row-rules.js';
import { IMPORT_COLUMNS, type ImportFormat, type ImportReport } from '../../src/core/bulk/types.js';
import { ERROR_KINDS, isKaijuAuthError } from '../../src/errors.js';
import { loadFixtures } from '../../src/core/fixtures/load.js';
import type { SeedReport } from '../../src/core/fixtures/types.js';
import { BACKENDS, destroyTest, initTest, type Backend, type TestDb } from '../support/db.js';
import { testAuth } from '../support/auth.js';
import { cliTarget, removeTempDirs, runCli, tempDir, type CliTarget } from '../support/cli.js';

const CI = process.env.CI === 'true';
/** Parser-only cases per format (in-process, no database). */
const PARSE_RUNS = CI ? 1000 : 3000;
/** Cases that write, per format and database. */
const WRITE_RUNS = CI ? 60 : 250;
const SEARCH_RUNS = CI ? 500 : 2000;
const CLI_RUNS = CI ? 2 : 5;
const SEED = Number(process.env.FAULT_SEED ?? Date.now() % 1_000_000);
const counts: Record<string, number> = {};
const count = (name: string, n = 1) => (counts[name] = (counts[name] ?? 0) + n);

const HASH = `$2b$04$${'a'.repeat(53)}`;
const CODES = new Set(Object.keys(ERROR_KINDS));

afterAll(async () => {
  console.log(`fault/inputs: ${Object.entries(counts).map(([k, n]) => `${n} ${k}`).join(', ')} (seed ${SEED})`);
  await removeTempDirs();
});

// ---------------------------------------------------------------------------------------------
// Generators

const nasty = fc.constantFrom('\u0000', '\ud800', '\udfff', '"', "'", ',', ';', '\n', '\r', '\r\n', '\t', '\\', '%', '_', '?', '\ufeff', 'é', 'ß', 'İ', '😀', ' ', '{', '}', '[', ']', ':', '$', '@', '.', '-');
const hostileText = fc.oneof(
  fc.string({ unit: fc.oneof(nasty, fc.constantFrom('a', 'b', 'Z', '1')), maxLength: 16 }),
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc.constantFrom('', ' ', 'null', 'true', '0', '{}', '[]', '{"a":1}', '\\u0000', 'x'.repeat(300)),
);
/** JSON nested `depth` levels (arrays or objects), past the limit of 100 sometimes. */
const deepJson = fc.tuple(fc.integer({ min: 1, max: 400 }), fc.boolean()).map(([depth, arrays]) => {
  let v: unknown = 1;
  for (let i = 0; i < depth; i += 1) v = arrays ? [v] : { a: v };
  return arrays ? { deep: v } : v;
});
const hostileValue = fc.oneof(
  { weight: 4, arbitrary: hostileText },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 1, arbitrary: deepJson },
  { weight: 1, arbitrary: fc.dictionary(hostileText, hostileText, { maxKeys: 3 }) },
  { weight: 1, arbitrary: fc.array(hostileText, { maxLength: 3 }) },
);

type Rec = Record<string, unknown>;

/** Undefined mostly; the given value one time in five (damage to a whole file). */
const rarely = <T>(a: fc.Arbitrary<T>) => fc.oneof({ weight: 4, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: a });
/** The same, one time in fifteen (a fixture set has three files). */
const seldom = <T>(a: fc.Arbitrary<T>) => fc.oneof({ weight: 14, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: a });

/** A valid record (unique by `n`), then hostile mutations of some of its fields. */
function importRecord(n: number) {
  const base = fc.record({
    password: fc.boolean(),
    fullName: fc.option(fc.constantFrom('Ann Example', 'José Ñandú', '😀 emoji', 'a;b,c "q"'), { nil: undefined }),
    groups: fc.constantFrom([], ['staff'], ['staff', 'other'], ['missing']),
    flags: fc.boolean(),
    settings: fc.option(fc.oneof(fc.constant({ locale: 'en' }), fc.jsonValue({ maxDepth: 2 }).map((v) => ({ v }))), { nil: undefined }),
  });
  const mutation = fc.oneof(
    { weight: 6, arbitrary: fc.constant([]) },
    { weight: 1, arbitrary: fc.array(fc.tuple(fc.oneof(fc.constantFrom(...IMPORT_COLUMNS), hostileText), fc.option(hostileValue, { nil: undefined })), { minLength: 1, maxLength: 2 }) },
  );
  return fc.tuple(base, mutation).map(([b, muts]): Rec => {
    const r: Rec = { username: `user${n}`, email: `user${n}@example.com` };
    if (b.password) r.password = `valid password ${n}`;
    else r.password_hash = HASH;
    if (b.fullName !== undefined) r.full_name = b.fullName;
    r.groups = b.groups;
    if (b.flags) {
      r.is_active = true;
      r.is_blocked = false;
    }
    if (b.settings !== undefined) r.settings = b.settings;
    for (const [key, value] of muts) {
      if (value === undefined) delete r[key];
      else r[key] = value;
    }
    return r;
  });
}

const cell = (v: unknown): string => {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v.join(';');
  return JSON.stringify(v) ?? '';
};
const quoted = (s: string, always: boolean) => (always || /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

/** A whole import file of one format, perhaps cut short or garbled. */
const importFile = (format: ImportFormat) =>
  fc
    .tuple(
      fc.integer({ min: 0, max: 6 }).chain((k) => fc.tuple(...Array.from({ length: k }, (_, i) => importRecord(i + 1)))),
      fc.boolean(),
      rarely(fc.tuple(fc.nat(), fc.constantFrom('cut', 'bom', 'garbage', 'crlf', 'blank'))),
      fc.string({ unit: 'binary', maxLength: 8 }),
    )
    .map(([records, quoteAll, damage, junk]) => {
      let text: string;
      if (format === 'csv') {
        const header = [...new Set(records.flatMap((r) => Object.keys(r)))];
        const columns = header.length > 0 ? header : ['username', 'email', 'password'];
        text = [columns.map((c) => quoted(c, quoteAll)).join(','), ...records.map((r) => columns.map((c) => quoted(cell(r[c]), quoteAll)).join(','))].join('\n') + '\n';
      } else if (format === 'jsonl') {
        text = records.map((r) => JSON.stringify(r)).join('\n') + '\n';
      } else {
        text = JSON.stringify(records);
      }
      if (damage) {
        const [at, kind] = damage;
        const i = text.length === 0 ? 0 : at % text.length;
        if (kind === 'cut') text = text.slice(0, i);
        else if (kind === 'bom') text = `\ufeff${text}`;
        else if (kind === 'garbage') text = text.slice(0, i) + junk + text.slice(i);
        else if (kind === 'crlf') text = text.replace(/\n/g, '\r\n');
        else text = text.replace(/\n/, '\n\n  \n');
      }
      return { text, records, damaged: damage !== undefined && damage[1] !== 'bom' && damage[1] !== 'crlf' && damage[1] !== 'blank' };
    });

// ---------------------------------------------------------------------------------------------
// Checks

/** A problem as the report lists it: located, coded with a known code, one line, no password. */
function expectProblem(p: { row?: number; code: string; message: string; file?: string; path?: string }, secrets: string[]): void {
  expect(CODES.has(p.code), p.code).toBe(true);
  expect(p.message).not.toMatch(/[\r\n]/);
  for (const s of secrets) expect(p.message).not.toContain(s);
  if (p.row !== undefined) expect(Number.isInteger(p.row) && p.row >= 0).toBe(true);
}

/** The outcome of a core call: its value, or the exit code of a coded error (anything else fails). */
async function outcome<T>(work: () => Promise<T>): Promise<{ value: T } | { exit: number; code: string }> {
  try {
    return { value: await work() };
  } catch (err) {
    expect(isKaijuAuthError(err), String((err as Error)?.stack ?? err)).toBe(true);
    const report = toErrorReport(err);
    expect(report.exit).not.toBe(1);
    return { exit: report.exit, code: report.code };
  }
}

/** Passwords of the records long enough not to be a word of a message by chance. */
const passwordsOf = (records: Rec[]) => records.map((r) => r.password).filter((p): p is string => typeof p === 'string' && p.length >= 8);

/** Text with a NUL or an unpaired surrogate: no stored value can contain it. */
// eslint-disable-next-line no-control-regex -- NUL is the point
const unstorable = (text: string) => /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(text);

let dir: string;
let seq = 0;
async function fileOf(text: string, ext: string): Promise<string> {
  const file = path.join(dir, `case${(seq += 1)}.${ext}`);
  await writeFile(file, text);
  return file;
}

beforeAll(async () => {
  dir = await tempDir('kaiju-fault-inputs-');
});

describe.each(['csv', 'jsonl', 'json'] as const)('import files (%s) under generated input', (format) => {
  it('the reader and the row rules: every record a row or located problems, never an exception', async () => {
    await fc.assert(
      fc.asyncProperty(importFile(format), async ({ text, records }) => {
        count(`${format} files parsed`);
        const file = await fileOf(text, format);
        for await (const chunk of readRecords(file, format)) {
          for (const rec of chunk) {
            const checked = checkRecord(rec, format === 'csv');
            if (checked.problems) for (const p of checked.problems) expectProblem(p, passwordsOf(records));
          }
        }
      }),
      { numRuns: PARSE_RUNS, seed: SEED },
    );
  });
});

describe.each(BACKENDS)('imports and seeds under generated input, on %s', (backend: Backend) => {
  let t: TestDb;
  let auth: KaijuAuth;
  const runs = backend === 'postgres' ? Math.ceil(WRITE_RUNS / 2) : WRITE_RUNS;
  const userCount = async () => Number((await t.knex('users').count({ n: '*' }).first())?.n);

  beforeAll(async () => {
    t = await initTest(backend);
    auth = testAuth(t);
    await t.knex('groups').insert([{ id: 'staff' }, { id: 'other' }]);
  });
  afterAll(async () => destroyTest(t));

  it.each(['csv', 'jsonl', 'json'] as const)('user import (%s): a problem means nothing written; otherwise what was given is stored', async (format) => {
    await fc.assert(
      fc.asyncProperty(importFile(format), async ({ text, records, damaged }) => {
        count(`${format} imports on ${backend}`);
        await t.knex.raw('truncate users, user_groups, audit_log cascade');
        const file = await fileOf(text, format);
        const result = await outcome(() => auth.bulk.import(file, { format, onConflict: 'skip', rounds: 4 }));
        if ('exit' in result) {
          expect([2, 6], result.code).toContain(result.exit);
          expect(await userCount()).toBe(0);
          return;
        }
        const report: ImportReport = result.value;
        for (const p of report.errors) expectProblem(p, passwordsOf(records));
        if (report.errors.length > 0) {
          count(`${format} imports refused on ${backend}`);
          expect(await userCount()).toBe(0);
          return;
        }
        count(`${format} imports written on ${backend}`);
        expect(report.created.users).toBe(report.rows);
        expect(await userCount()).toBe(report.rows);
        // JSON keeps every value exactly: nothing was altered on its way in (U+FFFD for a surrogate, say).
        if (format !== 'csv' && !damaged && report.rows === records.length) {
          for (const r of records) {
            const stored = await t.knex('users').where({ username: r.username }).first('full_name', 'settings');
            expect(stored.full_name).toBe(typeof r.full_name === 'string' && r.full_name !== '' ? r.full_name : null);
            // As the file holds it: JSON has no -0, say.
            if (r.settings !== undefined && r.settings !== null && r.settings !== '') expect(stored.settings).toEqual(JSON.parse(JSON.stringify(r.settings)));
          }
        }
      }),
      { numRuns: runs, seed: SEED },
    );
  });

  it('seed: problems mean nothing written; an applied seed applied again changes nothing', async () => {
    await fc.assert(
      fc.asyncProperty(fixtureSet, async (files) => {
        count(`fixture sets seeded on ${backend}`);
        await t.knex.raw('truncate permissions, groups, group_permissions, users, user_groups, audit_log cascade');
        // What the fixtures may name without defining it.
        await t.knex('permissions').insert(REFERENCED.map((id) => ({ id, enabled: true })));
        await t.knex('groups').insert(REFERENCED.map((id) => ({ id })));
        const fixtures = await fixtureDir(files);
        const snapshot = async () => Promise.all(['permissions', 'groups', 'group_permissions', 'users', 'user_groups'].map(async (tb) => Number((await t.knex(tb).count({ n: '*' }).first())?.n)));
        const before = await snapshot();
        const result = await outcome(() => auth.fixtures.seed(fixtures));
        if ('exit' in result) {
          expect([2, 6], result.code).toContain(result.exit);
          expect(await snapshot()).toEqual(before);
          return;
        }
        const report: SeedReport = result.value;
        for (const p of report.errors) expectProblem(p, fixturePasswords(files));
        if (report.errors.length > 0) {
          count(`fixture sets refused on ${backend}`);
          expect(await snapshot()).toEqual(before);
          return;
        }
        count(`fixture sets written on ${backend}`);
        const again = await auth.fixtures.seed(fixtures);
        expect(again.errors).toEqual([]);
        expect(again.created).toEqual({ permissions: [], groups: [], users: [] });
        expect(again.updated).toEqual({ permissions: [], groups: [], users: [] });
      }),
      { numRuns: runs, seed: SEED },
    );
  });

  it('search text: literal, case-insensitive containment (a model decides); text nothing can hold matches nothing', async () => {
    await t.knex.raw('truncate permissions, groups, group_permissions, users, user_groups, audit_log cascade');
    const people = [
      ['percent_1', 'p1@example.com', '100% sure'],
      ['under_sc', 'u_s@example.com', 'A_B'],
      ['backslash', 'b@example.com', 'C:\\dir\\x'],
      ['quotes_1', 'q@example.com', `it's "quoted"?`],
      ['plain_user', 'plain@example.com', null],
    ] as const;
    for (const [username, email, fullName] of people) await auth.users.register({ username, email, password: `search password ${username.length}1`, fullName });
    const allowed = 'aAbB%_\\\'"?:.@1 sS';
    const search = fc.oneof(
      fc.string({ unit: fc.constantFrom(...allowed.split('')), maxLength: 4 }),
      hostileText,
    );
    await fc.assert(
      fc.asyncProperty(search, async (text) => {
        count(`searches on ${backend}`);
        const listed = await outcome(() => auth.users.list({ search: text }));
        expect('value' in listed).toBe(true);
        if (!('value' in listed)) return;
        const got = listed.value.users.map((u) => u.username).sort();
        if (text === '') return; // no filter at all
        // The model, for text PostgreSQL and JavaScript lower-case alike (ASCII).
        if (/^[\x20-\x7e]*$/.test(text)) {
          const want = people.filter((p) => p.some((v) => v !== null && v.toLowerCase().includes(text.toLowerCase()))).map((p) => p[0]).sort();
          expect(got, JSON.stringify(text)).toEqual(want);
        } else if (unstorable(text)) {
          expect(got).toEqual([]);
        }
        expect('value' in (await outcome(() => auth.permissions.list({ search: text, all: true })))).toBe(true);
      }),
      { numRuns: backend === 'postgres' ? Math.ceil(SEARCH_RUNS / 2) : SEARCH_RUNS, seed: SEED },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Fixtures

const REFERENCED = ['docs.read', 'docs.write', 'staff', 'admins', 'p.x'];
/** Odds of a valid value against a hostile one, per value of a fixture: about half the sets are valid. */
const ODDS = 50;
const idish = fc.oneof({ weight: ODDS, arbitrary: fc.constantFrom(...REFERENCED) }, { weight: 1, arbitrary: hostileText });
const maybe = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });
/** A valid value mostly, a hostile one now and then. */
const mostly = <T>(valid: fc.Arbitrary<T>) => fc.oneof({ weight: ODDS, arbitrary: valid }, { weight: 1, arbitrary: hostileValue });
const permissionItem = fc.oneof(
  { weight: ODDS, arbitrary: fc.record({ id: idish, enabled: maybe(mostly(fc.boolean())), tag: maybe(mostly(fc.constant('docs'))), description: maybe(mostly(fc.constantFrom('Read "docs"', 'é;,\\'))) }, { requiredKeys: ['id'] }) },
  { weight: 1, arbitrary: hostileValue },
);
const groupItem = fc.oneof(
  { weight: ODDS, arbitrary: fc.record({ data: fc.record({ id: idish, tag: maybe(mostly(fc.constant('staff'))), description: maybe(mostly(fc.constant('a group'))) }, { requiredKeys: ['id'] }), permissions: fc.array(idish, { maxLength: 3 }) }) },
  { weight: 1, arbitrary: hostileValue },
);
const userItem = fc.integer({ min: 1, max: 1000 }).chain((n) =>
  fc.oneof(
    {
      weight: ODDS,
      arbitrary: fc.record({
        data: fc.record(
          {
            username: mostly(fc.constant(`fixture${n}`)),
            email: mostly(fc.constant(`fixture${n}@example.com`)),
            password: mostly(fc.constant(`fixture password ${n}`)),
            full_name: maybe(mostly(fc.constantFrom('Fix Ture', 'Ça "va"'))),
            settings: maybe(mostly(fc.oneof(fc.constant({ locale: 'en' }), fc.dictionary(hostileText, hostileValue, { maxKeys: 2 })))),
          },
          { requiredKeys: ['username', 'email', 'password'] },
        ),
        groups: fc.array(idish, { maxLength: 2 }),
      }),
    },
    { weight: 1, arbitrary: hostileValue },
  ),
);
/** What makes two items duplicates: their id (a hostile item is its own). */
function itemKey(item: unknown): string {
  const o = item as { id?: unknown; data?: { id?: unknown; username?: unknown } } | null;
  return JSON.stringify(o?.id ?? o?.data?.id ?? o?.data?.username ?? item) ?? 'undefined';
}
/** A file's text: the items as JSON, damaged sometimes, or missing. */
const fixtureFile = (item: fc.Arbitrary<unknown>) =>
  fc.option(
    fc.tuple(fc.uniqueArray(item, { maxLength: 4, selector: itemKey }), seldom(fc.tuple(fc.nat(), fc.constantFrom('cut', 'bom', 'raw-nul', 'not-array')))).map(([items, damage]) => {
      let text = JSON.stringify(items, null, 1);
      if (damage) {
        const [at, kind] = damage;
        if (kind === 'cut') text = text.slice(0, at % (text.length + 1));
        else if (kind === 'bom') text = `\ufeff${text}`;
        else if (kind === 'raw-nul') text = text.replace(/"([^"]*)"/, '"$1\u0000"');
        else text = JSON.stringify({ items });
      }
      return text;
    }),
    { nil: undefined },
  );
const fixtureSet = fc.record({ permissions: fixtureFile(permissionItem), groups: fixtureFile(groupItem), users: fixtureFile(userItem) });
type FixtureTexts = { permissions?: string | undefined; groups?: string | undefined; users?: string | undefined };

async function fixtureDir(files: FixtureTexts): Promise<string> {
  const d = path.join(dir, `fixtures${(seq += 1)}`);
  await mkdir(d);
  for (const [kind, text] of Object.entries(files)) if (text !== undefined) await writeFile(path.join(d, `${kind}.json`), text);
  return d;
}

function fixturePasswords(files: FixtureTexts): string[] {
  const found = [...(files.users ?? '').matchAll(/"password": "((?:[^"\\]|\\.)*)"/g)].map((m) => m[1] as string);
  return found.filter((p) => p.length >= 8);
}

describe('fixture loading under generated input', () => {
  it('every file is items or located problems (file and JSON path), never an exception', async () => {
    await fc.assert(
      fc.asyncProperty(fixtureSet, async (files) => {
        count('fixture sets loaded');
        const { problems } = await loadFixtures(await fixtureDir(files));
        for (const p of problems) {
          expectProblem(p, fixturePasswords(files));
          expect(p.path.startsWith('$')).toBe(true);
        }
      }),
      { numRuns: PARSE_RUNS, seed: SEED },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Through the CLI

describe.each(BACKENDS)('through the CLI on %s', (backend) => {
  let t: CliTarget;
  beforeAll(async () => {
    t = await cliTarget(backend);
    await t.withKnex((k) => k('groups').insert({ id: 'staff' }));
  });
  afterAll(async () => t?.cleanup());

  /** The documented exits, JSON on stdout or one JSON error line last on stderr, no stack trace. */
  function expectCli(r: { code: number | null; stdout: string; stderr: string; errorJson(): { error: { exit: number } } }, exits: number[]) {
    expect(exits, r.stderr).toContain(r.code);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    if (r.code === 0 || r.code === 6 || r.code === 5) JSON.parse(r.stdout);
    else expect(r.errorJson().error.exit).toBe(r.code);
  }

  it('user import of generated files, seed of generated fixtures, user list --search: documented exits only', { timeout: 600_000 }, async () => {
    for (const format of ['csv', 'jsonl', 'json'] as const) {
      for (const { text } of fc.sample(importFile(format), { numRuns: CLI_RUNS, seed: 7 })) {
        count(`CLI imports on ${backend}`);
        const r = await runCli([...t.args, '-q', '--json', 'user', 'import', await fileOf(text, format), '--on-conflict', 'skip', '--rounds', '4']);
        expectCli(r, [0, 5, 6]);
      }
    }
    for (const files of fc.sample(fixtureSet, { numRuns: CLI_RUNS, seed: 7 })) {
      count(`CLI seeds on ${backend}`);
      expectCli(await runCli([...t.args, '-q', '--json', 'seed', await fixtureDir(files)]), [0, 6]);
    }
    // argv cannot carry a NUL; everything else can.
    // eslint-disable-next-line no-control-regex -- NUL is the point
    for (const text of fc.sample(hostileText, { numRuns: CLI_RUNS, seed: 7 }).map((s) => s.replace(/\u0000/g, ''))) {
      count(`CLI searches on ${backend}`);
      const r = await runCli([...t.args, '-q', '--json', 'user', 'list', '--search', text === '' ? 'x' : text]);
      expectCli(r, [0]);
    }
  });
});
