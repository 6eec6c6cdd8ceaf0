/**
 * Local mode's live reload: a change under DFM_PIPELINES_DIR (an editor saving a file, a `git
 * pull`) re-syncs the folder 300 ms after the last change, so a burst of writes is one sync. A
 * poll every `intervalMs` covers what fs.watch misses (network file systems, a folder created
 * after the start).
 */
import { watch, type FSWatcher } from 'node:fs';
import { messageOf } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';

const DEBOUNCE_MS = 300;

export function watchLocalPipelines(options: { dir: string; logger: Logger; intervalMs: number; sync: () => Promise<unknown> }): { stop(): Promise<void> } {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> | undefined;
  let again = false;
  let stopped = false;

  const syncNow = (): void => {
    if (stopped) return;
    if (running !== undefined) {
      again = true;
      return;
    }
    running = options
      .sync()
      .catch((error: unknown) => options.logger.error({ err: { message: messageOf(error) } }, 'local pipelines sync failed'))
      .finally(() => {
        running = undefined;
        if (again) {
          again = false;
          syncNow();
        }
      });
  };
  const changed = (): void => {
    clearTimeout(timer);
    timer = setTimeout(syncNow, DEBOUNCE_MS);
  };

  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(options.dir, { recursive: true }, changed);
    watcher.on('error', (error) => options.logger.warn({ err: { message: error.message } }, `stopped watching ${options.dir}; polling only`));
  } catch (error) {
    options.logger.warn({ err: { message: messageOf(error) }, dir: options.dir }, `cannot watch ${options.dir}; polling every ${options.intervalMs} ms`);
  }
  const poll = options.intervalMs > 0 ? setInterval(syncNow, options.intervalMs) : undefined;

  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      clearInterval(poll);
      watcher?.close();
      await running;
    },
  };
}
