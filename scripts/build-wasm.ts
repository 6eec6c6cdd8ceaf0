/**
 * Compiles assembly/binary-rows.ts and writes src/tasks/kafka-to-postgres/binary-rows-wasm.generated.ts.
 *   npx tsx scripts/build-wasm.ts          write it
 *   npx tsx scripts/build-wasm.ts --check  exit 1 when it is stale
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { compileBinaryRowsWasm, renderWasmModule, root, WASM_MODULE } from './wasm.js';

const content = renderWasmModule(await compileBinaryRowsWasm());
const target = path.join(root, WASM_MODULE);
const current = await readFile(target, 'utf8').catch(() => undefined);
if (current === content) console.log(`${WASM_MODULE} is up to date`);
else if (process.argv.includes('--check')) {
  console.error(`${WASM_MODULE} is stale; run: npm run wasm:build`);
  process.exitCode = 1;
} else {
  await writeFile(target, content);
  console.log(`wrote ${WASM_MODULE}`);
}
