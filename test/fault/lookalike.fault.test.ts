/**
 * Hostile usernames, generated (issue 11 item 8): look-alikes of a name made from Unicode's own
 * confusables data (the characters whose UTS #39 prototype is a letter of the name), fullwidth
 * forms, other case, accents, mixed. Thousands through the pure check (`validateUsername` then
 * `looksAlike`), then a few hundred through `user import` against existing users on each backend:
 * every one is refused (a conflict naming the user, or not a valid username at all). Generated
 * distinct names all pass, and all import. Counts are printed; fewer cases under CI=true.
 */
import { createRequire } from 'node:module';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { looksAlike } from '../../src/core/lookalike.js';
import { validateUsername } from '../../src/core/validation.js';
import { isKaijuAuthError } from '../../src/errors.js';
import { BACKENDS, destroyTest, initTest, type TestDb } from '../support/db.js';
import { testAuth } from '../support/auth.js';
import { KAIJU_HASH } from '../support/kaiju-ddl.js';

const CI = process.env.CI === 'true';
const RUNS = CI ? 1500 : 5000;
const DB_CASES = CI ? 150 : 400;
const counts: Record<string, number> = {};
const count = (name: string, n = 1) => (counts[name] = (counts[name] ?? 0) + n);

/** Letters no two of which look alike, nor like anything else of ASCII (no i, l, m, n, o, r). */
const SAFE = 'abcdefghjkpqstuvwxyz'.split('');

/** Per safe letter, the letters and digits (of any script) whose prototype it is, from the data. */
const SOURCES: Map<string, string[]> = (() => {
  const data = createRequire(import.meta.url)('unhomoglyph/data.json') as Record<string, string>;
  const out = new Map<string, string[]>();
  for (const [ch, proto] of Object.entries(data)) {
    const lower = proto.toLowerCase();
    if (!SAFE.includes(lower) || !/^[\p{L}\p{N}]$/u.test(ch)) continue;
    out.set(lower, [...(out.get(lower) ?? []), ch]);
  }
  return out;
})();

const ACCENTS = ['\u0301', '\u0300', '\u0308', '\u0302', '\u0303'];

const base = fc.array(fc.constantFrom(...SAFE), { minLength: 4, maxLength: 12 }).map((a) => a.join(''));

/** One way to disguise a character. */
const disguise = fc.constantFrom('keep', 'upper', 'confusable', 'fullwidth', 'accent');

/** A look-alike of `name`: each character disguised (or not), at least one confusable where the data has one. */
function variantOf(name: string, ways: string[], picks: number[]): string {
  return [...name]
    .map((ch, i) => {
      const way = ways[i % ways.length];
      const pick = picks[i % picks.length] ?? 0;
      const sources = SOURCES.get(ch) ?? [];
      if (way === 'upper') return ch.toUpperCase();
      if (way === 'confusable' && sources.length > 0) return sources[pick % sources.length] as string;
      if (way === 'fullwidth') return String.fromCharCode(ch.charCodeAt(0) + 0xfee0);
      if (way === 'accent') return `${ch}${ACCENTS[pick % ACCENTS.length]}`;
      return ch;
    })
    .join('');
}

const variant = fc
  .tuple(base, fc.array(disguise, { minLength: 1, maxLength: 12 }), fc.array(fc.nat(), { minLength: 1, maxLength: 12 }))
  .map(([name, ways, picks]) => ({ name, variant: variantOf(name, ways, picks) }));

/** Refused: not a valid username, or valid and alike. */
function refused(name: string, disguised: string): 'invalid' | 'alike' | 'passed' {
  let normalised: string;
  try {
    normalised = validateUsername(disguised);
  } catch (err) {
    if (isKaijuAuthError(err) && err.code === 'auth.user.invalid_username') return 'invalid';
    throw err;
  }
  return looksAlike(name, normalised) ? 'alike' : 'passed';
}

afterAll(() => {
  console.log(`fault/lookalike: ${Object.entries(counts).map(([k, n]) => `${n} ${k}`).join(', ')}, 0 mismatches`);
});

describe('look-alike usernames, generated', () => {
  it('the confusables data gives most letters some look-alikes', () => {
    expect([...SOURCES.values()].flat().length).toBeGreaterThan(100);
    expect(SOURCES.get('a')).toContain('\u0430'); // Cyrillic а
  });

  it('every generated look-alike is refused, in-process', () => {
    fc.assert(
      fc.property(variant, ({ name, variant: v }) => {
        const outcome = refused(name, v);
        count(`look-alike cases (${outcome === 'invalid' ? 'not a valid username' : 'refused as alike'})`);
        return outcome !== 'passed';
      }),
      { numRuns: RUNS },
    );
  });

  it('generated distinct names are never alike', () => {
    fc.assert(
      fc.property(base, base, (a, b) => {
        count('distinct pairs');
        return a === b || !looksAlike(a, b);
      }),
      { numRuns: RUNS },
    );
  });
});

describe.each(BACKENDS)('look-alike usernames through user import on %s', (backend) => {
  let t: TestDb;
  let dir: string;
  beforeAll(async () => {
    t = await initTest(backend);
    dir = await mkdtemp(path.join(os.tmpdir(), 'kaiju-lookalike-fault-'));
  });
  afterAll(async () => {
    await destroyTest(t);
    await rm(dir, { recursive: true, force: true });
  });

  it('existing names stay; every look-alike row is refused; distinct names import', async () => {
    const auth = testAuth(t);
    const names = fc.sample(fc.uniqueArray(base, { minLength: DB_CASES, maxLength: DB_CASES }), { numRuns: 1, seed: 11 })[0] as string[];
    const csv = (rows: string[], tag: string) =>
      `username,email,password_hash\n${rows.map((u, i) => `${u},${tag}${i}@example.com,${KAIJU_HASH}`).join('\n')}\n`;
    const existing = path.join(dir, 'existing.csv');
    await writeFile(existing, csv(names.slice(0, DB_CASES / 2), 'e'));
    expect((await auth.bulk.import(existing, { format: 'csv' })).created.users).toBe(DB_CASES / 2);

    const disguised = fc.sample(fc.tuple(fc.array(disguise, { minLength: 1, maxLength: 12 }), fc.array(fc.nat(), { minLength: 1, maxLength: 12 })), { numRuns: DB_CASES / 2, seed: 7 });
    const variants = names.slice(0, DB_CASES / 2).map((n, i) => variantOf(n, (disguised[i] as [string[], number[]])[0], (disguised[i] as [string[], number[]])[1]));
    const attack = path.join(dir, 'attack.csv');
    await writeFile(attack, csv(variants, 'v'));
    const report = await auth.bulk.import(attack, { format: 'csv', onConflict: 'skip', skipInvalid: true });
    // A variant whose stored (NFKC) form is the existing name itself is that user: left alone by skip.
    const stored = (v: string) => {
      try {
        return validateUsername(v);
      } catch {
        return null;
      }
    };
    const isSame = (i: number) => stored(variants[i] as string) === names[i];
    const same = variants.filter((_, i) => isSame(i)).length;
    expect([report.created.users, report.updated.users, report.unchanged.users]).toEqual([0, 0, same]);
    expect(await t.knex('users').where('email', 'like', 'v%').pluck('username')).toEqual([]);
    const byRow = new Map(report.errors.map((e) => [e.row, e.code]));
    for (let row = 1; row <= variants.length; row++) {
      if (!isSame(row - 1)) expect(['auth.user.exists', 'auth.user.invalid_username']).toContain(byRow.get(row));
    }
    count(`rows refused by import on ${backend}`, variants.length - same);
    count(`rows that were the existing name itself on ${backend}`, same);

    const fresh = path.join(dir, 'fresh.csv');
    await writeFile(fresh, csv(names.slice(DB_CASES / 2), 'f'));
    const ok = await auth.bulk.import(fresh, { format: 'csv' });
    expect([ok.created.users, ok.errors]).toEqual([DB_CASES / 2, []]);
    count(`distinct rows imported on ${backend}`, DB_CASES / 2);
  }, 120_000);
});
