/**
 * The raw body, up to a limit, before anything else reads it: signatures are checked on these
 * exact bytes. Over the limit is a JSON 413 (express' own error would become a 500 under /api/).
 */
import express, { type RequestHandler } from 'express';

export function parseRawBody(limitBytes: number): RequestHandler {
  const raw = express.raw({ type: () => true, limit: limitBytes });
  return (req, res, next) => {
    raw(req, res, (error?: unknown) => {
      if (error === undefined || error === null) {
        if (!Buffer.isBuffer(req.body)) req.body = Buffer.alloc(0);
        next();
        return;
      }
      const status = (error as { status?: number }).status ?? 400;
      res.status(status === 413 ? 413 : 400).json({
        error: status === 413
          ? { code: 'BODY_TOO_LARGE', message: `The body is over ${limitBytes} bytes (DFM_HOOKS_BODY_LIMIT_BYTES).` }
          : { code: 'BODY_UNREADABLE', message: 'The request body could not be read.' },
      });
    });
  };
}
