/** `user passwd` (old + new) and `user set-password` (administrative reset). Secrets per docs/CLI.md. */
import type { Runtime } from '../runtime.js';
import { passwordRules, readSecret, type SecretFlags } from '../secrets.js';

export async function runPasswd(rt: Runtime, opts: SecretFlags & { rounds?: number }, username: string): Promise<void> {
  const auth = await rt.auth({ rounds: opts.rounds });
  const oldPassword = await readSecret(rt, opts, { label: `current password of ${username}`, line: 0 });
  const newPassword = await readSecret(rt, opts, {
    label: 'new password',
    confirm: true,
    line: 1,
    env: 'KAIJU_AUTH_NEW_PASSWORD',
    validate: await passwordRules(),
  });
  await auth.users.changePassword(username, oldPassword, newPassword);
  await rt.out.result({ username, changed: true }, () => rt.out.line(`password of ${username} changed`));
}

export async function runSetPassword(rt: Runtime, opts: SecretFlags & { rounds?: number }, user: string): Promise<void> {
  const auth = await rt.auth({ rounds: opts.rounds });
  const target = await auth.users.get(user);
  const password = await readSecret(rt, opts, { label: `new password for ${target.username}`, confirm: true, validate: await passwordRules() });
  await auth.users.setPassword(target.id, password);
  await rt.out.result({ username: target.username, changed: true }, () => rt.out.line(`password of ${target.username} set`));
}
