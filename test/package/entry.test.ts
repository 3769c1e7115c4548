/**
 * The library as a caller gets it: only the package entry, by the package's own name (the built
 * dist/src/index.js, as kysely's tests import its build), on both databases. Every name used here
 * comes from `kaiju-auth`, and the database is opened and migrated by it too (`openAuth`,
 * `auth.migrate()`): test/support only makes an empty PostgreSQL database or a directory.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as lib from 'kaiju-auth';
import type {
  AuditRow,
  AuthenticatedUser,
  Group,
  GroupDetail,
  ImportReport,
  IssuedTokens,
  KaijuAuth,
  Permission,
  PruneReport,
  RegisterInput,
  SeedReport,
  TokenClaims,
  User,
  UserDetail,
  UserService,
} from 'kaiju-auth';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { BACKENDS, createPgDatabase, dropPgDatabase } from '../support/db.js';

const PASSWORD = 'correct horse 1';

describe.each(BACKENDS)('the package entry on %s', (backend) => {
  let shared: KaijuAuth;
  let cleanup: () => Promise<void>;
  const open = async (): Promise<KaijuAuth> => shared;

  beforeAll(async () => {
    const settings = { actor: 'library', bcryptRounds: 4, failedLoginDelayMs: { base: 0, jitter: 0 }, keySecret: 'library key secret, long enough' };
    if (backend === 'postgres') {
      const { name, url } = await createPgDatabase();
      shared = await lib.openAuth({ target: { kind: 'postgres', url }, ...settings });
      cleanup = () => dropPgDatabase(name);
    } else {
      const dir = await mkdtemp(path.join(os.tmpdir(), 'kaiju-entry-db-'));
      shared = await lib.openAuth({ target: { kind: 'embedded', dataDir: path.join(dir, 'data') }, create: true, ...settings });
      cleanup = () => rm(dir, { recursive: true, force: true });
    }
    expect((await shared.migrate()).migrations.length).toBeGreaterThan(0);
  });
  afterAll(async () => {
    await shared?.close();
    await cleanup?.();
  });

  it('users, groups and permissions: what the services return can be named', async () => {
    const auth = await open();
    const perm: Permission = await auth.permissions.create('docs.read', { tag: 'docs' });
    const group: Group = await auth.groups.create('readers');
    await auth.groups.grant('readers', ['docs.read']);
    const input: RegisterInput = { username: 'alice', email: 'alice@example.com', password: PASSWORD, fullName: 'Alice', groups: ['readers'] };
    const users: UserService = auth.users;
    const made: UserDetail = await users.register(input);
    expect(made).toMatchObject({ username: 'alice', email: 'alice@example.com', groups: ['readers'], permissions: ['docs.read'] });
    const got: User = await auth.users.get('alice');
    expect(got.id).toBe(made.id);
    const who: AuthenticatedUser = await auth.users.authenticate('alice', PASSWORD);
    expect(who.permissions).toEqual(['docs.read']);
    const detail: GroupDetail = await auth.groups.show('readers');
    expect(detail).toEqual({ ...group, permissions: [perm.id] });
    const audit: AuditRow[] = await auth.audit.list();
    expect(audit.map((r) => r.command)).toContain('user.register');
  });

  it('errors are coded: a caller switches on the code', async () => {
    const auth = await open();
    await auth.users.register({ username: 'bobby', email: 'bobby@example.com', password: PASSWORD });
    const err = await auth.users.register({ username: 'bobby', email: 'other@example.com', password: PASSWORD }).catch((e: unknown) => e);
    expect(lib.isKaijuAuthError(err)).toBe(true);
    expect(err).toBeInstanceOf(lib.KaijuAuthError);
    expect(lib.isKaijuAuthError(err) && err.code).toBe('auth.user.exists');
    expect(lib.ERROR_KINDS['auth.user.exists']).toBe('conflict');
    const bad = await auth.users.authenticate('bobby', 'wrong password 1').catch((e: unknown) => e);
    expect(lib.isKaijuAuthError(bad) && bad.code).toBe('auth.user.authentication_failed');
  });

  it('settings bounds are the ones the core checks', async () => {
    expect(lib.SETTING_RANGES.bcryptRounds).toEqual({ min: 4, max: 31 });
    expect(lib.DEFAULT_SETTINGS.bcryptRounds).toBe(lib.DEFAULT_BCRYPT_COST);
    expect(() => lib.resolveSettings({ bcryptRounds: lib.SETTING_RANGES.bcryptRounds.max + 1 })).toThrow(RangeError);
    await expect(lib.openAuth({ knex: (await open()).knex, bcryptRounds: 3 })).rejects.toThrow(RangeError);
  });

  it('tokens: issue through the keystore, verify offline from the JWKS with TokenVerifier', async () => {
    const auth = await open();
    await auth.keys.rotate({ alg: 'ES256' });
    await auth.users.register({ username: 'carol', email: 'carol@example.com', password: PASSWORD });
    const pair: IssuedTokens = await auth.tokens.issue('carol', PASSWORD);
    const online: TokenClaims = await auth.tokens.verify(pair.access);
    const verifier = new lib.TokenVerifier(lib.jwksResolver(lib.parseJwks(JSON.parse(JSON.stringify(await auth.keys.jwks())))));
    const offline: TokenClaims = await verifier.verify(pair.access);
    expect(offline).toEqual(online);
    expect(lib.inspectToken(pair.access).verified).toBe(false);
  });

  it('seed, import, sessions and status through the services', async () => {
    const auth = await open();
    const dir = await mkdtemp(path.join(os.tmpdir(), 'kaiju-entry-'));
    try {
      await mkdir(path.join(dir, 'fixtures'));
      await writeFile(path.join(dir, 'fixtures', 'permissions.json'), JSON.stringify([{ id: 'p.one', tag: 'p' }]));
      await writeFile(path.join(dir, 'fixtures', 'groups.json'), JSON.stringify([{ data: { id: 'g.one' }, permissions: ['p.one'] }]));
      const seeded: SeedReport = await auth.fixtures.seed(path.join(dir, 'fixtures'));
      expect(seeded.errors).toEqual([]);
      expect(seeded.created).toMatchObject({ permissions: ['p.one'], groups: ['g.one'] });
      const file = path.join(dir, 'people.jsonl');
      await writeFile(file, `${JSON.stringify({ username: 'dave', email: 'dave@example.com', password: PASSWORD, groups: ['g.one'] })}\n`);
      const imported: ImportReport = await auth.bulk.import(file, { format: 'jsonl' });
      expect(imported.created.users).toBe(1);
      const out = await auth.bulk.import(file, { format: 'jsonl', rounds: 99 }).catch((e: unknown) => e);
      expect(lib.isKaijuAuthError(out) && out.code).toBe('settings.out_of_range');
      expect((await auth.users.authenticate('dave', PASSWORD)).permissions).toEqual(['p.one']);
      const pruned: PruneReport = await auth.sessions.prune();
      expect(pruned.deleted).toBe(0);
      expect((await auth.status()).schema).toMatchObject({ current: true });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
