/**
 * The pure parts of issue 11 item 8: comparison keys (the ASCII fast path and the key hashes agree
 * with the full UTS #39 skeleton), NFKC that changes a name's look, and UTF-8 checking of files
 * read in chunks cut anywhere.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ASCII_RULES, asciiRulesFromData, hashText, keepsItsLook, keyHashes, lookalikeKeys, looksAlike, skeleton } from '../../src/core/lookalike.js';
import { invalidUtf8Line, Utf8Checker } from '../../src/core/utf8.js';

/** The keys by their definition, through the full skeleton only. */
function reference(value: string): string[] {
  const fold = (s: string) => s.toUpperCase().toLowerCase();
  const base = value.normalize('NFKC');
  const strip = (s: string) => s.replace(/[\u0300-\u036f]/g, '');
  return [...new Set([strip(skeleton(fold(base))), strip(skeleton(fold(skeleton(base))))])];
}

describe('look-alike keys', () => {
  it('the issue’s five are one name; distinct names are not', () => {
    for (const name of ['ADMIN', '\u0430dmin', '\uff21dmin', 'adm\u00edn', 'admi\u0301n']) expect(looksAlike('admin', name), name).toBe(true);
    for (const name of ['admins', 'adnin', 'bdmin']) expect(looksAlike('admin', name), name).toBe(false);
    expect(looksAlike('Il', 'll')).toBe(true);
    expect(looksAlike('\u041d\u0410CKER', 'Hacker')).toBe(true);
    expect(looksAlike('stra\u00dfe', 'STRASSE')).toBe(true);
  });

  it('the ASCII rules written out are exactly the ASCII rules of the confusables data', () => {
    // An update of the data that adds, drops or changes one must update ASCII_RULES (or the fast path).
    expect(asciiRulesFromData()).toEqual(ASCII_RULES.map(([ch, proto]) => [ch, proto]));
  });

  it('the ASCII fast path and the key hashes agree with the full skeleton', () => {
    const ascii = fc.stringMatching(/^[A-Za-z0-9_.+@-]{1,24}$/);
    const any = fc.oneof(ascii, fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }));
    fc.assert(
      fc.property(any, (value) => {
        const k = lookalikeKeys(value);
        const keys = k.alt === null ? [k.key] : [k.key, k.alt];
        expect(keys).toEqual(reference(value));
        // The hashes are those of the key texts (made without the texts on the fast path).
        const h = keyHashes(value);
        expect(h.key).toBe(hashText(k.key));
        expect(h.alt ?? h.key).toBe(hashText(k.alt ?? k.key));
      }),
      { numRuns: 3000 },
    );
    // Hashes meet exactly where keys do.
    for (const [a, b] of [['admin', 'ADMIN'], ['user10', 'userlO'], ['Il', 'll'], ['admin', '\u0430dmin']]) {
      const x = keyHashes(a as string);
      const y = keyHashes(b as string);
      expect([x.key, x.alt].some((v) => v !== null && (v === y.key || v === y.alt)), `${a} ${b}`).toBe(true);
    }
    expect(keyHashes('alice').key).not.toBe(keyHashes('alicia').key);
  });

  it('NFKC that changes the look of a name is caught; width and compatibility forms are not', () => {
    expect(keepsItsLook('\uff21dmin', 'Admin')).toBe(true);
    expect(keepsItsLook('\uff4aohn', 'john')).toBe(true);
    expect(keepsItsLook('\ufb01sh', 'fish')).toBe(true);
    expect(keepsItsLook('a\u03f2me', 'a\u03c2me')).toBe(false); // lunate sigma (like c) to final sigma
    expect(keepsItsLook('\u017fun', 'sun')).toBe(false); // long s (like f) to s
  });
});

describe('UTF-8 checks', () => {
  const text = Buffer.from('name,email\nj\u00f6rg,j@example.com\n\u0430dmin \ud83d\ude00,x@example.com\n');

  it('a valid file is valid however it is cut into chunks', () => {
    for (let cut = 0; cut <= text.length; cut++) {
      for (const size of [1, 2, 3, 5]) {
        const c = new Utf8Checker();
        c.push(text.subarray(0, cut));
        for (let p = cut; p < text.length; p += size) c.push(text.subarray(p, p + size));
        expect(c.end(), `cut ${cut} size ${size}`).toBeNull();
      }
    }
  });

  it('the first bad line is found wherever the chunks are cut; a sequence cut off at the end counts', () => {
    const bad = Buffer.concat([text, Buffer.from('ok\n'), Buffer.from([0x6a, 0xf6, 0x72, 0x67, 0x0a]), Buffer.from('more\n')]);
    expect(invalidUtf8Line(bad)).toBe(5);
    for (let cut = 0; cut <= bad.length; cut += 3) {
      const c = new Utf8Checker();
      c.push(bad.subarray(0, cut));
      c.push(bad.subarray(cut));
      expect(c.end(), `cut ${cut}`).toBe(5);
    }
    const truncated = new Utf8Checker();
    truncated.push(Buffer.concat([Buffer.from('a\nb'), Buffer.from([0xe2, 0x82])]));
    expect(truncated.end()).toBe(2);
    expect(invalidUtf8Line(Buffer.from([0xed, 0xa0, 0x80]))).toBe(1); // a lone surrogate, encoded
  });
});
