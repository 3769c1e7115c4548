/**
 * Human renderings of instants relative to now: "in 3h", "2d ago". Coarse on purpose: one unit,
 * rounded down, switching unit when the number would pass 120 s, 120 min or 48 h.
 */

/** A span of milliseconds as `42s`, `17m`, `5h`, `3d` (absolute value, rounded down). */
export function formatSpan(ms: number): string {
  const s = Math.floor(Math.abs(ms) / 1000);
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 120) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h`;
  return `${Math.floor(h / 24)}d`;
}

/** `in 3h` for a future instant, `2d ago` for a past one. */
export function formatRelative(at: Date, now: Date): string {
  const diff = at.getTime() - now.getTime();
  return diff > 0 ? `in ${formatSpan(diff)}` : `${formatSpan(diff)} ago`;
}

/** A session's expiry: `in 3h` or `expired 2d ago`. */
export function formatExpiry(expiresAt: Date, now: Date): string {
  return expiresAt.getTime() > now.getTime() ? formatRelative(expiresAt, now) : `expired ${formatRelative(expiresAt, now)}`;
}
