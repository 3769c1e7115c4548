/**
 * The page a listing shows, the same for every list command: `--limit` (default 100) and
 * `--offset`, stdout the page alone (a JSON array with `--json`), and one notice on stderr with the
 * total: `100 of 2,345 users shown (--offset 100 for more)`.
 *
 * A listing whose core can count cheaply (users) passes its total; the others ask the core for one
 * row more than `--limit` and count only when that row says there is more, so a short list of
 * sessions never counts a table of millions.
 */
import type { Output } from './output.js';

/** How many rows every list command shows without `--limit`. */
export const DEFAULT_PAGE_SIZE = 100;

export interface PageFlags {
  limit?: number;
  offset?: number;
}

/** The limit and offset to ask the core for: one row more than is shown. */
export function pageQuery(flags: PageFlags): { limit: number; offset?: number } {
  return { limit: pageLimit(flags) + 1, ...(flags.offset !== undefined ? { offset: flags.offset } : {}) };
}

export function pageLimit(flags: PageFlags): number {
  return flags.limit ?? DEFAULT_PAGE_SIZE;
}

/** `2,345`: thousands separated, whatever the locale. */
export function countText(n: number): string {
  return n.toLocaleString('en-US');
}

/**
 * The one notice of every listing: `3 of 3 users shown`, `100 of 2,345 users shown (--offset 100
 * for more)`. `noun` is plural (`users`).
 */
export function pageNotice(shown: number, offset: number, total: number, noun: string): string {
  const next = offset + shown;
  const more = shown > 0 && next < total ? ` (--offset ${next} for more)` : '';
  const from = offset > 0 ? ` from offset ${countText(offset)}` : '';
  return `${countText(shown)} of ${countText(total)} ${noun} shown${from}${more}`;
}

/**
 * The rows to show from a query made with `pageQuery` (one row more than the page), with the
 * notice; `count` is asked only when the total cannot be known from the rows.
 */
export async function shownPage<T>(out: Output, rows: T[], flags: PageFlags, noun: string, count: () => Promise<number>): Promise<T[]> {
  const limit = pageLimit(flags);
  const offset = flags.offset ?? 0;
  const shown = rows.slice(0, limit);
  const knowable = rows.length <= limit && (rows.length > 0 || offset === 0);
  const total = knowable ? offset + rows.length : await count();
  out.notice(pageNotice(shown.length, offset, total, noun));
  return shown;
}

/** The page of a listing the core returns whole (groups, permissions, keys: small tables). */
export function slicePage<T>(out: Output, all: T[], flags: PageFlags, noun: string): T[] {
  const offset = flags.offset ?? 0;
  const shown = all.slice(offset, offset + pageLimit(flags));
  out.notice(pageNotice(shown.length, offset, all.length, noun));
  return shown;
}
