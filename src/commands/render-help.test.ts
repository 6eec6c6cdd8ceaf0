import { describe, expect, it } from 'vitest';
import { findPrCommands } from './parse-command.js';
import { renderHelp } from './render-help.js';

describe('renderHelp', () => {
  it('lists the pull-request commands, one line each', () => {
    expect(renderHelp('pr')).toBe(
      [
        '**dfm commands** (a comment line of its own, starting with `/dfm`):',
        '- `/dfm help [command]` — List these commands',
        '- `/dfm plan` — Compute the plan of this pull request again (comment and check run)',
        '- `/dfm validate` — Validate the pipeline files of the head commit again',
        '- `/dfm confirm-prune [sha]` — Let the held sync pause the pipelines this change removes (the held commit, or &lt;sha>)',
      ].join('\n'),
    );
  });

  it('lists the Slack commands with <…> escaped for mrkdwn', () => {
    expect(renderHelp('slack')).toBe(
      [
        '*dfm commands*',
        '`/dfm help [command]` — List these commands',
        '`/dfm list` — List the pipelines with their state and last run',
        '`/dfm run &lt;pipeline&gt; [key=value …]` — Start a run now; params as key=value, quoted when they hold spaces',
        "`/dfm status &lt;pipeline|run&gt;` — Show a pipeline's latest runs, or a run's tasks",
        "`/dfm logs &lt;run&gt; [task]` — Show a run's logs, or one task's",
        '`/dfm cancel &lt;run&gt;` — Cancel a run (running tasks are stopped)',
        '`/dfm retry &lt;run&gt;` — Run the failed tasks of a run again',
        '`/dfm pause &lt;pipeline&gt;` — Stop scheduling a pipeline (manual runs still work)',
        '`/dfm unpause &lt;pipeline&gt;` — Schedule a paused pipeline again',
      ].join('\n'),
    );
  });

  it('is not read back as commands when posted on a pull request', () => {
    expect(findPrCommands(renderHelp('pr'))).toEqual([]);
  });
});
