/**
 * `GET /api/runs/<id>/events`: server-sent events of one run until it ends. Events come from the
 * process's one run event hub (one LISTEN for every viewer, never a query per viewer per tick):
 * subscribe first, then read the run once for a `snapshot` event, so nothing that happens between
 * the two is missed (a change may then be both in the snapshot and sent as an event; events carry
 * their state, so a repeat is harmless). Each event is `event: <type>` with the RunEvent as JSON;
 * the stream closes after `run.finished`, or at once when the run had already ended.
 */
import type { Request, Response } from 'express';
import type pg from 'pg';
import type { RunEventHub } from '../runs/run-event-hub.js';
import type { RunEvent } from '../runs/run-event.js';
import { FINAL_RUN_STATES, getRunStatus, type RunStatus } from '../runs/get-run-status.js';

/** A comment line this often keeps proxies from closing an idle stream, in ms. */
const KEEPALIVE_MS = 15_000;

export async function streamRunEvents(req: Request, res: Response, options: { pool: pg.Pool; runEvents: RunEventHub; runId: number; authorize: (status: RunStatus) => boolean }): Promise<void> {
  const { runId } = options;
  const early: RunEvent[] = [];
  let send: ((event: RunEvent) => void) | undefined;
  const unsubscribe = options.runEvents.subscribe((event) => {
    if (event.run.runId !== runId) return;
    if (send) send(event);
    else early.push(event);
  });
  let keepalive: NodeJS.Timeout | undefined;
  const close = () => {
    unsubscribe();
    if (keepalive) clearInterval(keepalive);
    if (!res.writableEnded) res.end();
  };
  try {
    await options.runEvents.ready();
    const status = await getRunStatus(options.pool, runId);
    if (status === undefined || !options.authorize(status)) {
      unsubscribe();
      res.status(404).json({ error: { code: 'RUN_UNKNOWN', message: `No run ${runId}.` } });
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache, no-transform', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    const write = (type: string, data: unknown) => res.write(`event: ${type}\ndata: ${JSON.stringify(data)}\n\n`);
    write('snapshot', status);
    if (FINAL_RUN_STATES.includes(status.state)) {
      close();
      return;
    }
    req.on('close', close);
    keepalive = setInterval(() => res.write(': keepalive\n\n'), KEEPALIVE_MS);
    send = (event) => {
      if (res.writableEnded) return;
      write(event.type, event);
      if (event.type === 'run.finished') close();
    };
    for (const event of early.splice(0)) send(event);
  } catch (error) {
    close();
    throw error;
  }
}
