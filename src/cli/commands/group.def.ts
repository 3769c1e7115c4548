/** `group ...`: groups and the permissions they grant. Handlers in group.ts. */
import { command, option, runsFrom, type GroupBody } from '../command-table.js';
import { pagingOptions } from '../command-kit.js';


export const create = command({
  name: 'create',
  description: 'create a group',
  args: ['<group>'],
  options: { tag: option('--tag <tag>', 'tag'), description: option('--description <text>', 'what the group is for') },
  dryRun: true,
  examples: ['kaiju-auth group create editors --description "Can edit documents"'],
});

export const list = command({
  name: 'list',
  description: 'list groups with their permission and member counts',
  options: { tag: option('--tag <tag>', 'only this tag'), ...pagingOptions('groups') },
  examples: ['kaiju-auth group list', 'kaiju-auth group list --json'],
});

export const show = command({ name: 'show', description: 'show a group and its permissions', args: ['<group>'], examples: ['kaiju-auth group show editors'] });

export const del = command({ name: 'delete', description: 'delete a group, its grants and memberships (asks; -y)', args: ['<group>'], dryRun: true, examples: ['kaiju-auth group delete interns -y']});

export const permissions = command({ name: 'permissions', description: "list a group's permissions (disabled ones marked)", args: ['<group>'], examples: ['kaiju-auth group permissions editors']});

export const grant = command({ name: 'grant', description: 'grant permissions (ones already granted are kept)',
  args: ['<group>', '<permission...>'], dryRun: true, examples: ['kaiju-auth group grant editors docs.read docs.write'] });

export const revoke = command({ name: 'revoke', description: 'revoke permissions', args: ['<group>', '<permission...>'], dryRun: true, examples: ['kaiju-auth group revoke editors docs.write']});

export const setPermissions = command({ name: 'set-permissions', description: 'replace the whole set of permissions (none: remove all, asks; -y)',
  args: ['<group>', '[permission...]'], dryRun: true, examples: ['kaiju-auth group set-permissions editors docs.read docs.write', 'kaiju-auth group set-permissions interns -y'] });

export const matrix = command({
  name: 'matrix',
  description: 'groups x permissions table: who grants what (disabled permissions dimmed)',
  options: { tag: option('--tag <tag>', 'only permissions with this tag') },
  examples: ['kaiju-auth group matrix', 'kaiju-auth group matrix --tag users --json'],
});

const body: GroupBody = {
  examples: ['kaiju-auth group create editors', 'kaiju-auth group grant editors docs.read docs.write', 'kaiju-auth group matrix'],
  commands: runsFrom(() => import('./group.js'), { create, list, show, delete: del, permissions, grant, revoke, setPermissions, matrix }),
};
export default body;
