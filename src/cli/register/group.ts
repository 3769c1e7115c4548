/** Declares `group ...`; handlers in commands/group.ts. */
import type { Command } from 'commander';
import { examples, lazyAction, withPaging, type Kit } from '../command-kit.js';

const load = () => import('../commands/group.js');

/** Fills the `group` command (made by program.ts, which holds its description) with its subcommands. */
export function registerGroupCommands(groupCommand: Command, kit: Kit): void {
  const group = examples(groupCommand, [
    'kaiju-auth group create editors',
    'kaiju-auth group grant editors docs.read docs.write',
    'kaiju-auth group matrix',
  ]);

  examples(
    lazyAction(
      kit,
      group
        .command('create <group>')
        .description('create a group')
        .option('--tag <tag>', 'tag')
        .option('--description <text>', 'what the group is for'),
      async () => (await load()).runCreate,
    ),
    ['kaiju-auth group create editors --description "Can edit documents"'],
  );

  examples(
    lazyAction(kit, withPaging(group.command('list').description('list groups with their permission and member counts').option('--tag <tag>', 'only this tag'), 'groups'), async () => (await load()).runList),
    ['kaiju-auth group list', 'kaiju-auth group list --json'],
  );

  examples(
    lazyAction(kit, group.command('show <group>').description('show a group and its permissions'), async () => (await load()).runShow),
    ['kaiju-auth group show editors'],
  );

  examples(
    lazyAction(kit, group.command('delete <group>').description('delete a group, its grants and memberships (asks; -y)'), async () => (await load()).runDelete),
    ['kaiju-auth group delete interns -y'],
  );

  examples(
    lazyAction(kit, group.command('permissions <group>').description("list a group's permissions (disabled ones marked)"), async () => (await load()).runPermissions),
    ['kaiju-auth group permissions editors'],
  );

  examples(
    lazyAction(kit, group.command('grant <group> <permission...>').description('grant permissions (ones already granted are kept)'), async () => (await load()).runGrant),
    ['kaiju-auth group grant editors docs.read docs.write'],
  );

  examples(
    lazyAction(kit, group.command('revoke <group> <permission...>').description('revoke permissions'), async () => (await load()).runRevoke),
    ['kaiju-auth group revoke editors docs.write'],
  );

  examples(
    lazyAction(
      kit,
      group
        .command('set-permissions <group> [permission...]')
        .description('replace the whole set of permissions (none: remove all, asks; -y)'),
      async () => (await load()).runSetPermissions,
    ),
    ['kaiju-auth group set-permissions editors docs.read docs.write', 'kaiju-auth group set-permissions interns -y'],
  );

  examples(
    lazyAction(
      kit,
      group.command('matrix').description('groups x permissions table: who grants what (disabled permissions dimmed)').option('--tag <tag>', 'only permissions with this tag'),
      async () => (await load()).runMatrix,
    ),
    ['kaiju-auth group matrix', 'kaiju-auth group matrix --tag users --json'],
  );
}
