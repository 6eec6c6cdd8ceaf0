/**
 * The help of a surface, one line per command, from the command table: Markdown for a
 * pull-request comment, Slack mrkdwn for Slack. Each line starts with the usage in code, never
 * with a bare `/dfm`, so a help comment posted on a PR is not read back as commands.
 */
import { COMMANDS, commandsOf, usageOf, type Surface } from './command-table.js';

// Slack reads `<…>` as a link or mention and `&` as an entity: its docs ask for these three escapes.
const escapeSlack = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function renderHelp(surface: Surface): string {
  const names = commandsOf(surface);
  if (surface === 'slack') {
    return ['*dfm commands*', ...names.map((name) => `\`${escapeSlack(usageOf(name))}\` — ${escapeSlack(COMMANDS[name].summary)}`)].join('\n');
  }
  // Usages hold `<pipeline>`: shown as code, GitHub prints it literally.
  return ['**dfm commands** (a comment line of its own, starting with `/dfm`):', ...names.map((name) => `- \`${usageOf(name)}\` — ${COMMANDS[name].summary.replace(/</g, '&lt;')}`)].join('\n');
}
