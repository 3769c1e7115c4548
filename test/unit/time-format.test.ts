import { describe, expect, it } from 'vitest';
import { formatExpiry, formatRelative, formatSpan } from '../../src/cli/time-format.js';

const NOW = new Date('2026-03-01T12:00:00Z');
const at = (seconds: number) => new Date(NOW.getTime() + seconds * 1000);

describe('relative times', () => {
  it('uses one unit, rounded down, switching at 120s, 120m and 48h', () => {
    expect(formatSpan(0)).toBe('0s');
    expect(formatSpan(119_999)).toBe('119s');
    expect(formatSpan(120_000)).toBe('2m');
    expect(formatSpan(119 * 60_000 + 59_000)).toBe('119m');
    expect(formatSpan(120 * 60_000)).toBe('2h');
    expect(formatSpan(47 * 3_600_000)).toBe('47h');
    expect(formatSpan(48 * 3_600_000)).toBe('2d');
    expect(formatSpan(-3 * 86_400_000)).toBe('3d');
  });

  it('says "in 3h" for the future and "2d ago" for the past', () => {
    expect(formatRelative(at(3 * 3600 + 100), NOW)).toBe('in 3h');
    expect(formatRelative(at(-2 * 86400), NOW)).toBe('2d ago');
  });

  it('renders session expiry as "in ..." or "expired ... ago"', () => {
    expect(formatExpiry(at(3 * 3600), NOW)).toBe('in 3h');
    expect(formatExpiry(at(-2 * 86400 - 5), NOW)).toBe('expired 2d ago');
    expect(formatExpiry(NOW, NOW)).toBe('expired 0s ago');
  });
});
