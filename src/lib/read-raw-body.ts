/**
 * A request's body as the raw bytes that were signed, for an ingress that verifies before it
 * parses. Resolves `undefined` (and stops reading) once more than `limitBytes` arrived, so a
 * sender cannot make the process hold an unbounded body.
 */
import type { IncomingMessage } from 'node:http';

export function readRawBody(req: IncomingMessage, limitBytes: number): Promise<Buffer | undefined> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limitBytes) {
    req.resume();
    return Promise.resolve(undefined);
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    const onData = (chunk: Buffer) => {
      length += chunk.length;
      if (length > limitBytes) {
        req.off('data', onData);
        req.resume();
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, length)));
    req.once('error', reject);
    req.once('close', () => {
      if (!req.complete) reject(new Error('The request was aborted before its body ended.'));
    });
  });
}
