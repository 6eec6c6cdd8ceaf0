/** `dfm validate [paths…]`: check pipeline files; exit 0 without errors, 1 with errors, 2 on usage errors. */
import { Option, type Command } from 'commander';
import { reportUsageError } from '../report-usage-error.js';
import { hasErrors } from '../../pipeline/diagnostic.js';
import { DIAGNOSTIC_FORMATS, formatDiagnosticsGithub, formatDiagnosticsJson, formatDiagnosticsText, type DiagnosticFormat } from '../../pipeline/format-diagnostics.js';
import { loadPipelineFiles } from '../../pipeline/load-pipelines-dir.js';
import { validatePipelineFiles } from '../../pipeline/validate-pipeline-files.js';
import type { CliContext } from '../cli-context.js';

export function registerValidateCommand(program: Command, context: CliContext): void {
  program
    .command('validate')
    .description('Validate pipeline files (default: the DFM_PIPELINES_DIR folder, "pipelines")')
    .argument('[paths...]', 'pipeline files or folders (searched recursively for *.yaml and *.yml)')
    .addOption(new Option('--format <format>', 'output format').choices(DIAGNOSTIC_FORMATS).default('text'))
    .action(async (paths: string[], options: { format: DiagnosticFormat }) => {
      const targets = paths.length > 0 ? paths : [context.config().pipelinesDir];
      let files;
      try {
        files = await loadPipelineFiles(targets, context.cwd);
      } catch (error) {
        if (reportUsageError(context, 'validate', error, ['PATH_NOT_FOUND'])) return;
        throw error;
      }
      // Secrets are usually not configured where files are validated (a laptop, CI): a warning here,
      // an error at activation (sync/run-sync.ts).
      const { pipelines, diagnostics } = validatePipelineFiles(files, { webhookSecrets: { known: new Set(Object.keys(context.config().webhookSecrets)), severity: 'warning' } });
      const output =
        options.format === 'json'
          ? formatDiagnosticsJson(diagnostics, pipelines.length)
          : options.format === 'github'
            ? formatDiagnosticsGithub(diagnostics)
            : formatDiagnosticsText(diagnostics, { files: files.length, pipelines: pipelines.length });
      context.stdout.write(output);
      context.setExitCode(hasErrors(diagnostics) ? 1 : 0);
    });
}
