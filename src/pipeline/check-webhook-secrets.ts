/**
 * Webhook triggers name their secret (`secret: orders` → DFM_WEBHOOK_SECRET_ORDERS); the secret
 * itself lives in configuration. `dfm validate` runs where the secrets usually are not (a laptop,
 * CI), so a missing one is a warning there; a sync makes it an error, so a webhook pipeline never
 * becomes active without its secret. Pure: the known names are passed in.
 */
import { parseDocument } from 'yaml';
import type { Diagnostic } from './diagnostic.js';
import type { Pipeline } from './pipeline-schema.js';
import { lineCounterFor, locatePath, toPosition } from './yaml-locate.js';

export function checkWebhookSecrets(
  file: { file: string; text: string },
  pipeline: Pipeline,
  knownSecrets: ReadonlySet<string>,
  severity: Diagnostic['severity'],
): Diagnostic[] {
  const missing = pipeline.triggers.flatMap((trigger, index) => (trigger.type === 'webhook' && !knownSecrets.has(trigger.secret) ? [{ index, secret: trigger.secret }] : []));
  if (missing.length === 0) return [];
  const lineCounter = lineCounterFor(file.text);
  const doc = parseDocument(file.text, { uniqueKeys: false });
  return missing.map(({ index, secret }) => {
    const variable = `DFM_WEBHOOK_SECRET_${secret.toUpperCase()}`;
    return {
      file: file.file,
      ...toPosition(lineCounter, file.text, locatePath(doc, file.text, ['triggers', index, 'webhook', 'secret'])),
      severity,
      code: 'unknown-webhook-secret',
      message: `Webhook secret "${secret}" is not configured: ${variable} is not set`,
      hint: `Set ${variable} (at least 16 characters) where dfm runs${severity === 'error' ? '; the pipeline is not activated until it is' : ''}`,
    };
  });
}
