import { createServer } from 'node:net';

/** A TCP port on 127.0.0.1 that was free a moment ago (the OS picked it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/** Whether nothing listens on 127.0.0.1:`port` and it can be bound now. */
function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * A port p with p and p + 1 both free, below Linux's ephemeral range (32768–60999), so no outgoing
 * connection of the suite takes either before the process meant to bind them does (a local Kafka
 * broker listens on p and its controller on p + 1).
 */
export async function freePortPair(): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const port = 20_000 + 2 * Math.floor(Math.random() * 6_000);
    if ((await canBind(port)) && (await canBind(port + 1))) return port;
  }
  throw new Error('no two adjacent free ports between 20000 and 32000 on 127.0.0.1');
}
