/**
 * The page a listing shows. It asks the core for one row more than `--limit`: that row says there
 * is more (a notice on stderr) without counting a table of millions.
 */
import type { Output } from './output.js';

/** How many rows a paged listing (`audit list`, `session list`) shows without `--limit`. */
export const DEFAULT_PAGE_SIZE = 100;

export interface PageFlags {
  limit?: number;
  offset?: number;
}

/** The limit and offset to ask the core for: one row more than is shown. */
export function pageQuery(flags: PageFlags): { limit: number; offset?: number } {
  return { limit: (flags.limit ?? DEFAULT_PAGE_SIZE) + 1, ...(flags.offset !== undefined ? { offset: flags.offset } : {}) };
}

/** The rows to show; when there were more, says so: "showing `what`; use --limit/--offset for more". */
export function shownPage<T>(out: Output, rows: T[], flags: PageFlags, what: (limit: number) => string): T[] {
  const limit = flags.limit ?? DEFAULT_PAGE_SIZE;
  if (rows.length > limit) out.notice(`kaiju-auth: showing ${what(limit)}; use --limit/--offset for more`);
  return rows.slice(0, limit);
}
