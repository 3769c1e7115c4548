/** `user passwd` (old + new) and `user set-password` (administrative reset). Secrets per docs/CLI.md. */
import type { Runtime } from '../runtime.js';
import { passwordRules, readSecret } from '../secrets.js';
import type { OptionsOf } from '../command-table.js';
import type * as def from './user.def.js';

export async function runPasswd(rt: Runtime, opts: OptionsOf<typeof def.passwd>, username: string): Promise<void> {
  const auth = await rt.auth({ rounds: opts.rounds });
  // An unknown user is "not found" (exit 4), as for set-password: this is the administrator's tool,
  // and "authentication failed" sent people looking for a wrong password.
  const target = await auth.users.get(username);
  const oldPassword = await readSecret(rt, opts, { label: `current password of ${target.username}`, line: 0 });
  // Typed at a prompt, the old password is checked before the new one is asked for (twice): a
  // wrong one is said at once, not after typing three passwords.
  const newAtPrompt =
    rt.interactive && !opts.passwordStdin && opts.passwordFile === undefined && !rt.io.env.KAIJU_AUTH_NEW_PASSWORD;
  if (newAtPrompt) await auth.users.authenticate(target.username, oldPassword);
  const newPassword = await readSecret(rt, opts, {
    label: 'new password',
    confirm: true,
    line: 1,
    env: 'KAIJU_AUTH_NEW_PASSWORD',
    validate: await passwordRules(),
  });
  await auth.users.changePassword(target.username, oldPassword, newPassword);
  await rt.out.result({ username: target.username, changed: true }, () => rt.out.line(`password of ${target.username} changed`));
}

export async function runSetPassword(rt: Runtime, opts: OptionsOf<typeof def.setPassword>, user: string): Promise<void> {
  const auth = await rt.auth({ rounds: opts.rounds });
  const target = await auth.users.get(user);
  const password = await readSecret(rt, opts, { label: `new password for ${target.username}`, confirm: true, validate: await passwordRules() });
  await auth.users.setPassword(target.id, password);
  await rt.out.result({ username: target.username, changed: true }, () => rt.out.line(`password of ${target.username} set`));
}
