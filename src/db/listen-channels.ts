/**
 * A LISTEN connection that comes back: one dedicated client (LISTEN needs a session, so not the
 * pool), reconnected `retryDelayMs` after it is lost (pg_terminate_backend, a restart, a network
 * cut). Notifications sent while it was away are gone for good, so after every connect, once LISTEN
 * is in place, `onListening` runs: the caller reads whatever state the notifications would have
 * told it about (a worker looks for ready tasks, a run-event follower re-reads its runs).
 */
import pg from 'pg';
import { messageOf } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';

export interface ChannelListenerOptions {
  readonly databaseUrl: string;
  readonly channels: readonly string[];
  /** Shown in pg_stat_activity (`dfm-…`: tests and operators find dfm's sessions by it). */
  readonly applicationName: string;
  readonly logger: Logger;
  onNotification(channel: string, payload: string | undefined): void;
  /** After each (re)connect with LISTEN in place: catch up on what was missed. */
  onListening(reconnected: boolean): void;
  /** Default 1000 ms. */
  readonly retryDelayMs?: number;
}

export interface ChannelListener {
  readonly isListening: () => boolean;
  stop(): Promise<void>;
}

export function listenToChannels(options: ChannelListenerOptions): ChannelListener {
  const retryDelayMs = options.retryDelayMs ?? 1000;
  let client: pg.Client | undefined;
  let retry: NodeJS.Timeout | undefined;
  let stopping = false;
  let connectedBefore = false;
  let connecting: Promise<void> | undefined;

  const start = () => {
    connecting = connect().finally(() => (connecting = undefined));
  };
  const scheduleReconnect = () => {
    if (!stopping) retry = setTimeout(start, retryDelayMs);
  };

  async function connect(): Promise<void> {
    const next = new pg.Client({ connectionString: options.databaseUrl, application_name: options.applicationName });
    next.on('notification', (message) => options.onNotification(message.channel, message.payload));
    next.on('error', (error) => {
      options.logger.warn({ err: { message: error.message } }, 'LISTEN connection lost; reconnecting (polling meanwhile)');
      if (client === next) client = undefined;
      void next.end().catch(() => {});
      scheduleReconnect();
    });
    try {
      await next.connect();
      for (const channel of options.channels) await next.query(`listen ${pg.escapeIdentifier(channel)}`);
      if (stopping) {
        await next.end();
        return;
      }
      client = next;
      const reconnected = connectedBefore;
      connectedBefore = true;
      options.onListening(reconnected);
    } catch (error) {
      await next.end().catch(() => {});
      options.logger.warn({ err: { message: messageOf(error) } }, 'could not LISTEN; retrying (polling meanwhile)');
      scheduleReconnect();
    }
  }

  start();
  return {
    isListening: () => client !== undefined,
    async stop() {
      stopping = true;
      clearTimeout(retry);
      await connecting;
      const current = client;
      client = undefined;
      await current?.end().catch(() => {});
    },
  };
}
