import { describe, expect, it } from 'vitest';
import { validatePipelineFiles } from './validate-pipeline-files.js';

const text = `id: orders-in
params:
  amount: { type: number }
triggers:
  - webhook: { secret: orders }
tasks:
  land: { type: postgres.sql, sql: "select :amount::numeric, :trigger_body::jsonb" }
`;

describe('webhook secrets', () => {
  it('a missing secret is a located warning for dfm validate, naming the variable to set', () => {
    const { pipelines, diagnostics } = validatePipelineFiles([{ file: 'orders.yaml', text }], { webhookSecrets: { known: new Set(), severity: 'warning' } });
    expect(pipelines).toHaveLength(1);
    expect(diagnostics).toEqual([
      expect.objectContaining({ severity: 'warning', code: 'unknown-webhook-secret', line: 5, column: 24, message: 'Webhook secret "orders" is not configured: DFM_WEBHOOK_SECRET_ORDERS is not set' }),
    ]);
  });

  it('is an error at activation, and the pipeline is left out', () => {
    const { pipelines, diagnostics } = validatePipelineFiles([{ file: 'orders.yaml', text }], { webhookSecrets: { known: new Set(['other']), severity: 'error' } });
    expect(pipelines).toEqual([]);
    expect(diagnostics.map((d) => [d.severity, d.code])).toEqual([['error', 'unknown-webhook-secret']]);
    expect(diagnostics[0]!.hint).toContain('Set DFM_WEBHOOK_SECRET_ORDERS');
  });

  it('is quiet when the secret is configured; a webhook alone lets params be required', () => {
    const { pipelines, diagnostics } = validatePipelineFiles([{ file: 'orders.yaml', text }], { webhookSecrets: { known: new Set(['orders']), severity: 'error' } });
    expect(diagnostics).toEqual([]);
    expect(pipelines[0]!.pipeline.triggers).toEqual([{ type: 'webhook', secret: 'orders', auth: 'signature', idempotencyField: undefined }]);
  });

  it('a trigger has exactly one kind, and the secret is a name, not a secret', () => {
    const both = text.replace('- webhook: { secret: orders }', '- webhook: { secret: orders }\n    kafka: { topic: t }');
    expect(validatePipelineFiles([{ file: 'a.yaml', text: both }]).diagnostics.map((d) => d.code)).toContain('trigger-kind');
    const literal = text.replace('secret: orders', 'secret: "s3cr3t-Value!"');
    expect(validatePipelineFiles([{ file: 'a.yaml', text: literal }]).diagnostics.map((d) => d.code)).toContain('invalid-secret-name');
  });
});
