/**
 * Informational: consume-only with @platformatic/kafka 1.35, decode and discard, for comparison
 * with kafkajs in the same run. It is not a dependency of dfm: the bench loads it from
 * DFM_BENCH_PLATFORMATIC_DIR (default /tmp/plk, installed there with
 * `npm install --prefix /tmp/plk @platformatic/kafka@1.35.0`) and skips it when absent.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

export async function consumeWithPlatformatic(options: { dir: string; brokers: readonly string[]; topic: string; records: number }): Promise<{ seconds: number } | { skipped: string }> {
  const entry = join(options.dir, 'node_modules', '@platformatic', 'kafka', 'package.json');
  if (!existsSync(entry)) return { skipped: `not installed in ${options.dir} (npm install --prefix ${options.dir} @platformatic/kafka@1.35.0)` };
  try {
    const pkg = (await import(pathToFileURL(join(options.dir, 'node_modules', '@platformatic', 'kafka', 'dist', 'index.js')).href)) as Record<string, any>;
    const consumer = new pkg['Consumer']({ groupId: `bench-plk-${process.pid}-${Date.now()}`, clientId: 'dfm-bench', bootstrapBrokers: [...options.brokers], deserializers: pkg['stringDeserializers'] });
    const began = performance.now();
    const stream = await consumer.consume({ autocommit: false, topics: [options.topic], mode: pkg['MessagesStreamModes'].EARLIEST, sessionTimeout: 10_000, heartbeatInterval: 1000 });
    let seen = 0;
    for await (const message of stream as AsyncIterable<{ value: string }>) {
      JSON.parse(message.value);
      if (++seen >= options.records) break;
    }
    const seconds = (performance.now() - began) / 1000;
    await stream.close();
    await consumer.close();
    return { seconds };
  } catch (error) {
    return { skipped: `failed on Node ${process.version}: ${(error as Error).message}` };
  }
}
