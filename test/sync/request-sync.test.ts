/**
 * The generic webhook's one-statement request (requestSyncOfSources) and the per-source
 * requestSync make the same jobs: the same key, so a webhook and a push of one commit fold into
 * one pending job, the same payload, and a NOTIFY only for an added job.
 */
import { describe, expect, it } from 'vitest';
import { upsertSyncSources } from '../../src/sync/sync-source.js';
import { requestSync, requestSyncOfSources } from '../../src/sync/request-sync.js';
import { useOrchestration } from '../helpers/orchestration.js';

const { o } = useOrchestration();
const sha = 'a'.repeat(40);

describe('requestSyncOfSources', () => {
  it('queues one job per enabled Git source, folded with requestSync by key, with the same payload', async () => {
    await upsertSyncSources(o.pool, [
      { id: 'git:one', kind: 'git', url: 'https://example.com/one.git', branch: null, path: 'pipelines', installationId: null },
      { id: 'github:acme/two', kind: 'github', url: 'https://example.com/two.git', branch: null, path: 'pipelines', installationId: 1 },
      { id: 'local', kind: 'local', url: null, branch: null, path: 'pipelines', installationId: null },
    ]);
    const pushed = await requestSync(o.pool, { sourceId: 'git:one', trigger: 'github-push', sha });
    const requested = await requestSyncOfSources(o.pool, { trigger: 'webhook', sha });
    expect(requested).toEqual([
      { sourceId: 'git:one', id: pushed.id, created: false },
      { sourceId: 'github:acme/two', id: expect.any(Number), created: true },
    ]);
    const { rows } = await o.pool.query("select key, payload from dfm.job where kind = 'sync' and state = 'pending' order by key");
    expect(rows).toEqual([
      { key: `sync:git:one:${sha}`, payload: { sourceId: 'git:one', trigger: 'github-push', sha } },
      { key: `sync:github:acme/two:${sha}`, payload: { sourceId: 'github:acme/two', trigger: 'webhook', sha } },
    ]);
    // The same request again: both absorbed by the pending jobs.
    expect((await requestSyncOfSources(o.pool, { trigger: 'webhook', sha })).map((r) => r.created)).toEqual([false, false]);
  });

  it('names one source, or none when it is unknown or disabled; without a sha the key is the source', async () => {
    const [one] = await requestSyncOfSources(o.pool, { trigger: 'webhook', sourceId: 'git:one' });
    expect(one).toMatchObject({ sourceId: 'git:one', created: true });
    expect((await requestSync(o.pool, { sourceId: 'git:one', trigger: 'poll' })).id).toBe(one!.id);
    expect(await requestSyncOfSources(o.pool, { trigger: 'webhook', sourceId: 'local' })).toEqual([]);
    expect(await requestSyncOfSources(o.pool, { trigger: 'webhook', sourceId: 'git:nope' })).toEqual([]);
    // The source's active commit needs no sync: no job, and none absorbed.
    const active = 'b'.repeat(40);
    await o.pool.query("update dfm.sync_source set active_sha = $1 where id = 'git:one'", [active]);
    expect(await requestSyncOfSources(o.pool, { trigger: 'webhook', sourceId: 'git:one', sha: active })).toEqual([{ sourceId: 'git:one', id: null, created: false }]);
    expect((await o.pool.query('select count(*)::int as n from dfm.job where key = $1', [`sync:git:one:${active}`])).rows[0].n).toBe(0);
    await o.pool.query("update dfm.sync_source set enabled = false where id = 'git:one'");
    expect((await requestSyncOfSources(o.pool, { trigger: 'webhook' })).map((r) => r.sourceId)).toEqual(['github:acme/two']);
  });
});
