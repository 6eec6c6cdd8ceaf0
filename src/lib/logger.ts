/** Structured logs (pino). Run, task, attempt and delivery ids go in fields, never in the text. */
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string, destination: NodeJS.WritableStream = process.stderr): Logger {
  return pino(
    {
      name: 'dfm',
      level,
      // Never log credentials: connection strings and secrets are redacted wherever they appear.
      redact: { paths: ['databaseUrl', '*.databaseUrl', 'privateKey', '*.privateKey', 'password', '*.password', 'params', '*.params'], censor: '[redacted]' },
    },
    destination as pino.DestinationStream,
  );
}
