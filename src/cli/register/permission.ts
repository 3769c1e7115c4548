/** Declares `permission ...`; handlers in commands/permission.ts. */
import type { Command } from 'commander';
import { examples, lazyAction, withPaging, type Kit } from '../command-kit.js';

const load = () => import('../commands/permission.js');

/** Fills the `permission` command (made by program.ts, which holds its description) with its subcommands. */
export function registerPermissionCommands(permissionCommand: Command, kit: Kit): void {
  const permission = examples(permissionCommand, [
    'kaiju-auth permission create docs.read --tag docs',
    'kaiju-auth permission list --by-tag',
  ]);

  examples(
    lazyAction(
      kit,
      permission
        .command('create <permission>')
        .description('create a permission')
        .option('--tag <tag>', 'tag to group it under')
        .option('--description <text>', 'what it allows')
        .option('--disabled', 'create it disabled'),
      async () => (await load()).runCreate,
    ),
    ['kaiju-auth permission create users.read --tag users --description "Read user profiles"'],
  );

  examples(
    lazyAction(
      kit,
      withPaging(
        permission
          .command('list')
        .description('list enabled permissions sorted by tag then id')
        .option('--by-tag', 'group the list by tag')
        .option('--search <text>', 'literal, case-insensitive match on id, tag or description')
        .option('--tag <tag>', 'only this tag')
        .option('--all', 'include disabled permissions'),
        'permissions',
      ),
      async () => (await load()).runList,
    ),
    ['kaiju-auth permission list --by-tag', 'kaiju-auth permission list --search users --all --json'],
  );

  examples(
    lazyAction(kit, permission.command('show <permission>').description('show one permission and the groups that grant it'), async () => (await load()).runShow),
    ['kaiju-auth permission show users.read'],
  );

  for (const [name, description] of [
    ['enable', 'enable a permission (groups that grant it grant it again)'],
    ['disable', 'disable a permission (kept, but grants nothing)'],
  ] as const) {
    examples(
      lazyAction(kit, permission.command(`${name} <permission>`).description(description), async () => (await load())[name === 'enable' ? 'runEnable' : 'runDisable']),
      [`kaiju-auth permission ${name} users.write`],
    );
  }

  examples(
    lazyAction(
      kit,
      permission.command('delete <permission>').description('delete a permission and its grants (asks; -y)'),
      async () => (await load()).runDelete,
    ),
    ['kaiju-auth permission delete legacy.export', 'kaiju-auth permission delete legacy.export -y'],
  );
}
