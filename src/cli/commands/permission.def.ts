/** `permission ...`: the keys groups grant. Handlers in permission.ts. */
import { command, option, runsFrom, type GroupBody } from '../command-table.js';
import { pagingOptions } from '../command-kit.js';


export const create = command({
  name: 'create',
  description: 'create a permission',
  args: ['<permission>'],
  options: {
    tag: option('--tag <tag>', 'tag to group it under'),
    description: option('--description <text>', 'what it allows'),
    disabled: option('--disabled', 'create it disabled'),
  },
  dryRun: true,
  examples: ['kaiju-auth permission create users.read --tag users --description "Read user profiles"'],
});

export const list = command({
  name: 'list',
  description: 'list enabled permissions sorted by tag then id',
  options: {
    byTag: option('--by-tag', 'group the list by tag'),
    search: option('--search <text>', 'literal, case-insensitive match on id, tag or description'),
    tag: option('--tag <tag>', 'only this tag'),
    all: option('--all', 'include disabled permissions'),
    ...pagingOptions('permissions'),
  },
  examples: ['kaiju-auth permission list --by-tag', 'kaiju-auth permission list --search users --all --json'],
});

export const show = command({ name: 'show', description: 'show one permission and the groups that grant it', args: ['<permission>'], examples: ['kaiju-auth permission show users.read']});

export const enable = command({ name: 'enable', description: 'enable a permission (groups that grant it grant it again)', args: ['<permission>'], dryRun: true, examples: ['kaiju-auth permission enable users.write']});

export const disable = command({ name: 'disable', description: 'disable a permission (kept, but grants nothing)', args: ['<permission>'], dryRun: true, examples: ['kaiju-auth permission disable users.write']});

export const del = command({ name: 'delete', description: 'delete a permission and its grants (asks; -y)',
  args: ['<permission>'], dryRun: true, examples: ['kaiju-auth permission delete legacy.export', 'kaiju-auth permission delete legacy.export -y'] });

const body: GroupBody = {
  examples: ['kaiju-auth permission create docs.read --tag docs', 'kaiju-auth permission list --by-tag'],
  commands: runsFrom(() => import('./permission.js'), { create, list, show, enable, disable, delete: del }),
};
export default body;
