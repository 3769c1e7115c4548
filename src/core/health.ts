/**
 * Health of a deployment for monitoring (`status --check`, `--format prometheus`): each check says
 * whether something needs a human (no key can sign, the key secret does not open the keystore,
 * rotation overdue, a `next` key stuck, pending migrations, derived grants that differ from
 * kaiju's tables, expired sessions piling up, the
 * published JWKS out of date), and facts are reported without failing (users whose hashes are
 * cheaper than the configured cost, users without groups). Pure reads; the caller gives what only
 * it knows (the key secret's state, the published JWKS file's text) and renders the result.
 */
import type { Knex } from 'knex';
import { readKeyStatus, readJwks, type KeyStatus } from './keys/key-queries.js';
import type { KeySecretState } from './keys/secret-verifier.js';
import { readDatabaseStatus, type DatabaseStatus } from './status.js';

export type CheckName = 'schema' | 'grants' | 'signing_key' | 'key_secret' | 'rotation' | 'next_key' | 'sessions' | 'jwks_file';

export interface HealthCheck {
  name: CheckName;
  ok: boolean;
  /** What is wrong and what to do, or what is fine. */
  message: string;
}

export interface HealthInfo {
  /** Users whose stored hash is cheaper than the configured bcrypt cost (or not bcrypt): upgraded at next login. */
  usersWithCheapHashes: number;
  /** Users in no group: they get only the default group's permissions, if one is configured. */
  usersWithoutGroups: number;
}

export interface HealthReport {
  ok: boolean;
  checks: HealthCheck[];
  info: HealthInfo;
  status: DatabaseStatus;
  keys: (KeyStatus & { secret: KeySecretState }) | null;
  /** Seconds until rotation is due (negative: overdue); null when no key signs. */
  rotationDueIn: number | null;
}

export interface HealthOptions {
  now: Date;
  /** How long a `next` key waits in the JWKS before it signs, s (JWKS max age + clock skew). */
  switchDelay: number;
  /** Whether the configured key secret opens the keystore (the caller knows the secret). */
  secret: KeySecretState;
  /** The configured bcrypt cost. */
  bcryptCost: number;
  /** Expired sessions above this many need a prune (cron stopped?). */
  maxExpiredSessions: number;
  /** How late a rotation or a switch may be before it needs a human, s (cron every 10 min: 1 h). */
  lateAfter: number;
  /** The published JWKS file's text, when one is to be compared; null: the file is missing. */
  jwksFile?: { path: string; text: string | null };
}

/** The JWKS as `keys jwks --out` writes it: compared byte for byte with a published file. */
export function jwksFileText(jwks: unknown): string {
  return `${JSON.stringify(jwks, null, 2)}\n`;
}

async function readInfo(knex: Knex, bcryptCost: number): Promise<HealthInfo> {
  // bcrypt hashes are `$2b$NN$...`: bytes 5-6 are the cost. Anything else counts as cheap.
  const cost = "encode(substring(u.password from 5 for 2), 'escape')";
  const row = (
    await knex.raw(
      `select
        (select count(*) from users u
          where get_byte(u.password, 0) <> 36
             or case when ${cost} ~ '^[0-9]{2}$' then ${cost}::int < ? else true end) as cheap,
        (select count(*) from users u where not exists (select 1 from user_groups g where g.user_id = u.id)) as lonely`,
      [bcryptCost],
    )
  ).rows[0] as { cheap: string | number; lonely: string | number };
  return { usersWithCheapHashes: Number(row.cheap), usersWithoutGroups: Number(row.lonely) };
}

function human(seconds: number): string {
  const s = Math.abs(Math.round(seconds));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  if (s < 172800) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86400)}d`;
}

export async function checkHealth(knex: Knex, options: HealthOptions): Promise<HealthReport> {
  const { now } = options;
  const status = await readDatabaseStatus(knex, now);
  const checks: HealthCheck[] = [];
  const add = (name: CheckName, ok: boolean, message: string) => checks.push({ name, ok, message });

  add(
    'schema',
    status.schema.current,
    status.schema.current ? 'up to date' : `${status.schema.pending.length} migration(s) pending: run kaiju-auth migrate`,
  );
  if (status.schema.applied === 0 || !status.counts) {
    return {
      ok: false,
      checks,
      info: { usersWithCheapHashes: 0, usersWithoutGroups: 0 },
      status,
      keys: null,
      rotationDueIn: null,
    };
  }
  if (status.grants) {
    const drifted = status.grants.drifted;
    add(
      'grants',
      drifted.length === 0,
      drifted.length === 0
        ? "the derived grants match kaiju's tables"
        : `the derived grants of ${drifted.length} group(s) differ from kaiju's tables (${drifted.slice(0, 10).join(', ')}${drifted.length > 10 ? ', ...' : ''}): run kaiju-auth migrate`,
    );
  }
  const hasKeystore = Boolean((await knex.raw("select to_regclass('keystore') as t")).rows[0]?.t);
  const keyStatus = hasKeystore ? await readKeyStatus(knex, now, options.switchDelay) : null;
  const keys = keyStatus && { ...keyStatus, secret: options.secret };
  const active = keyStatus?.active ?? null;
  add('signing_key', active !== null, active ? `${active.kid} signs` : 'no key can sign: run kaiju-auth keys rotate');

  const secretOk = options.secret === 'opens' || options.secret === 'opens_new' || options.secret === 'unchecked';
  const secretWords: Record<KeySecretState, string> = {
    opens: 'the key secret opens the keystore',
    opens_new: 'only KAIJU_AUTH_NEW_SECRET opens the keystore: finish the re-key roll-out',
    wrong: 'the key secret does not open the keystore: signing and rotation exit 3',
    missing: 'no key secret configured: signing and rotation exit 2',
    unchecked: 'nothing sealed yet to check the key secret against',
  };
  add('key_secret', secretOk, secretWords[options.secret]);

  let rotationDueIn: number | null = null;
  if (active) {
    rotationDueIn = Math.round((active.rotationDueAt.getTime() - now.getTime()) / 1000);
    // A healthy cron publishes when due and switches a switch delay later.
    const late = -rotationDueIn - options.switchDelay;
    add(
      'rotation',
      late < options.lateAfter,
      rotationDueIn >= 0
        ? `due in ${human(rotationDueIn)}`
        : late < options.lateAfter
          ? `due since ${human(-rotationDueIn)}, in progress`
          : `overdue by ${human(late)}: is the keys rotate cron job running?`,
    );
  } else {
    add('rotation', false, 'no key signs');
  }
  const next = keyStatus?.next ?? null;
  if (next) {
    const waiting = (now.getTime() - next.switchesAt.getTime()) / 1000;
    add(
      'next_key',
      waiting < options.lateAfter,
      waiting < 0 ? `${next.kid} switches in ${human(-waiting)}` : waiting < options.lateAfter ? `${next.kid} ready to switch` : `${next.kid} stuck: ready to switch for ${human(waiting)}; is the keys rotate cron job running?`,
    );
  } else {
    add('next_key', true, 'none waiting');
  }

  const expired = status.counts.expiredSessions;
  add(
    'sessions',
    expired <= options.maxExpiredSessions,
    expired <= options.maxExpiredSessions
      ? `${expired} expired (at most ${options.maxExpiredSessions})`
      : `${expired} expired sessions, more than ${options.maxExpiredSessions}: is the session prune cron job running?`,
  );

  if (options.jwksFile) {
    const { path, text } = options.jwksFile;
    const expected = hasKeystore ? jwksFileText(await readJwks(knex, now)) : null;
    const same = text !== null && expected !== null && text === expected;
    add(
      'jwks_file',
      same,
      text === null ? `${path} is missing: run kaiju-auth keys jwks --out ${path}` : same ? `${path} is current` : `${path} differs from the keys that should be published: run kaiju-auth keys jwks --out ${path}`,
    );
  }

  const info = await readInfo(knex, options.bcryptCost);
  return { ok: checks.every((c) => c.ok), checks, info, status, keys, rotationDueIn };
}

/** The report as Prometheus text exposition (for node_exporter's textfile collector). */
export function healthMetrics(report: HealthReport, now: Date): string {
  const lines: string[] = [];
  const metric = (name: string, help: string, type: 'gauge', samples: [Record<string, string>, number][]) => {
    lines.push(`# HELP kaiju_auth_${name} ${help}`, `# TYPE kaiju_auth_${name} ${type}`);
    for (const [labels, value] of samples) {
      const l = Object.entries(labels)
        .map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`)
        .join(',');
      lines.push(`kaiju_auth_${name}${l ? `{${l}}` : ''} ${value}`);
    }
  };
  metric('up', 'Whether every health check passed (1) or not (0).', 'gauge', [[{}, report.ok ? 1 : 0]]);
  metric(
    'check_ok',
    'Each health check: 1 passed, 0 needs a human.',
    'gauge',
    report.checks.map((c) => [{ check: c.name }, c.ok ? 1 : 0]),
  );
  metric('schema_pending_migrations', 'Migrations not yet applied.', 'gauge', [[{}, report.status.schema.pending.length]]);
  const counts = report.status.counts;
  if (counts) {
    metric('users', 'Users by state.', 'gauge', [
      [{ state: 'all' }, counts.users],
      [{ state: 'blocked' }, counts.blockedUsers],
      [{ state: 'inactive' }, counts.inactiveUsers],
    ]);
    metric('groups', 'Groups.', 'gauge', [[{}, counts.groups]]);
    metric('permissions', 'Permissions.', 'gauge', [[{}, counts.permissions]]);
    metric('sessions', 'Sessions by state.', 'gauge', [
      [{ state: 'live' }, counts.liveSessions],
      [{ state: 'expired' }, counts.expiredSessions],
    ]);
  }
  metric('users_with_cheap_hashes', 'Users whose password hash is cheaper than the configured bcrypt cost.', 'gauge', [[{}, report.info.usersWithCheapHashes]]);
  metric('users_without_groups', 'Users in no group.', 'gauge', [[{}, report.info.usersWithoutGroups]]);
  const keys = report.keys;
  if (keys) {
    metric('signing_key_present', 'Whether a key can sign (1) or not (0).', 'gauge', [[{}, keys.active ? 1 : 0]]);
    if (keys.active) {
      metric('signing_key_age_seconds', 'How long the signing key has signed.', 'gauge', [[{ kid: keys.active.kid }, keys.active.ageSeconds]]);
      metric('signing_key_rotation_due_seconds', 'Seconds until rotation is due (negative: overdue).', 'gauge', [[{}, report.rotationDueIn ?? 0]]);
      metric('signing_key_expiry_seconds', 'Seconds until the signing key stops signing.', 'gauge', [
        [{}, Math.round((keys.active.signsUntil.getTime() - now.getTime()) / 1000)],
      ]);
    }
    metric('keys', 'Keys by what they can do.', 'gauge', [
      [{ state: 'verifying' }, keys.verifying],
      [{ state: 'prunable' }, keys.expired],
      [{ state: 'next' }, keys.next ? 1 : 0],
    ]);
    metric('key_secret_opens', 'Whether the configured key secret opens the keystore.', 'gauge', [
      [{ state: keys.secret }, keys.secret === 'opens' || keys.secret === 'opens_new' ? 1 : 0],
    ]);
  }
  return `${lines.join('\n')}\n`;
}
