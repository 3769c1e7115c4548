/**
 * docs/commands.md, the command reference, written from the command table (commands/index.ts):
 * `npm run docs` writes it, and test/unit/commands-doc.test.ts fails when the checked-in file is
 * not what the table gives (the docs cannot drift from the commands).
 */
import { argDef, optionsOf, splitExamples, type Entry, type OptionDef } from './command-table.js';
import { PROGRAM, fullTable } from './commands/index.js';

/** `|` and newlines would end a table cell. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function optionRow(o: OptionDef): string {
  const notes = [
    o.required === true ? 'required' : o.required === 'off-terminal' ? 'required (asked on a terminal)' : '',
    o.choices ? `one of ${o.choices.map((c) => `\`${c}\``).join(', ')}` : '',
    o.default !== undefined ? `default \`${String(o.default)}\`` : '',
    o.env ? `env \`${o.env}\`` : '',
  ].filter((n) => n !== '');
  return `| \`${cell(o.flags)}\` | ${cell(o.description)} | ${notes.join('; ')} |`;
}

function optionTable(options: readonly OptionDef[]): string[] {
  return options.length === 0 ? [] : ['| option | what | notes |', '|---|---|---|', ...options.map(optionRow), ''];
}

function section(entry: Entry, words: string[]): string[] {
  const { spec } = entry;
  const args = (spec.args ?? []).map(argDef);
  const subs = entry.commands ?? [];
  const usage = ['kaiju-auth', ...words, '[options]', ...(subs.length > 0 && !entry.run ? ['<command>'] : []), ...args.map((a) => a.name)].join(' ');
  const lines = [`${'#'.repeat(Math.min(words.length + 2, 4))} \`kaiju-auth ${words.join(' ')}\``, '', cell(spec.description), '', '```', usage, '```', ''];
  if (subs.length > 0) lines.push(`Commands: ${subs.map((s) => `\`${s.spec.name}\``).join(', ')}.`, '');
  const described = args.filter((a) => a.description !== undefined || a.choices);
  if (described.length > 0) {
    lines.push('| argument | what |', '|---|---|');
    for (const a of described) lines.push(`| \`${a.name}\` | ${cell([a.description ?? '', a.choices ? `(one of ${a.choices.map((c) => `\`${c}\``).join(', ')})` : ''].filter(Boolean).join(' '))} |`);
    lines.push('');
  }
  lines.push(...optionTable(optionsOf(spec).map(([, o]) => o)));
  const { shell, cron } = splitExamples(spec.examples ?? []);
  if (shell.length > 0) lines.push('```sh', ...shell.map((l) => `$ ${l}`), '```', '');
  if (cron.length > 0) lines.push('Crontab:', '', '```', ...cron, '```', '');
  for (const sub of subs) lines.push(...section(sub, [...words, sub.spec.name]));
  return lines;
}

/** The whole reference, as docs/commands.md holds it. */
export async function commandsDoc(): Promise<string> {
  const table = await fullTable();
  const lines = [
    '# Command reference',
    '',
    '<!-- Generated from the command table (src/cli/commands/index.ts) by `npm run docs`; do not edit by hand.',
    '     test/unit/commands-doc.test.ts fails when this file differs from what the table gives. -->',
    '',
    cell(PROGRAM.description),
    '',
    '```',
    'kaiju-auth [options] <command>',
    '```',
    '',
    `Commands: ${table.map((e) => `[\`${e.spec.name}\`](#kaiju-auth-${e.spec.name})`).join(', ')}.`,
    '',
    '## Options of every command',
    '',
    'Given before or after the command (`kaiju-auth --json user list`, `kaiju-auth user list --json`).',
    '',
    ...optionTable([PROGRAM.version, PROGRAM.help, ...Object.values(PROGRAM.options)]),
    '```sh',
    ...splitExamples(PROGRAM.examples).shell.map((l) => `$ ${l}`),
    '```',
    '',
    '```',
    PROGRAM.epilogue.replace(/^ +/gm, ''),
    '```',
    '',
    '## Commands',
    '',
  ];
  for (const e of table) lines.push(...section(e, [e.spec.name]));
  return `${lines.join('\n').replace(/\n+$/, '')}\n`;
}
