/** Structured logs (pino). Run, task, attempt and delivery ids go in fields, never in the text. */
import { pino, type Logger } from 'pino';
import { build as prettyStream } from 'pino-pretty';

export type { Logger };

/** `auto`: readable lines on a terminal, JSON otherwise (a pipe, a file, a log collector). */
export const LOG_FORMATS = ['auto', 'json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export function createLogger(level: string, destination: NodeJS.WritableStream = process.stderr, format: LogFormat = 'json'): Logger {
  const options: pino.LoggerOptions = {
    name: 'dfm',
    level,
    // Never log credentials: connection strings and secrets are redacted wherever they appear.
    redact: { paths: ['databaseUrl', '*.databaseUrl', 'privateKey', '*.privateKey', 'password', '*.password', 'params', '*.params'], censor: '[redacted]' },
  };
  if (!usesPrettyLines(format, destination)) return pino(options, destination as pino.DestinationStream);
  // The same record, drawn for people: time, level, message, then every other field (none left
  // out, hostname included) one per line. Synchronous, so the last lines before an exit are seen.
  const colorize = Boolean((destination as NodeJS.WriteStream).isTTY);
  return pino(options, prettyStream({ destination, sync: true, colorize, translateTime: 'SYS:HH:MM:ss.l', ignore: '' }));
}

export function usesPrettyLines(format: LogFormat, destination: NodeJS.WritableStream): boolean {
  return format === 'pretty' || (format === 'auto' && Boolean((destination as NodeJS.WriteStream).isTTY));
}
