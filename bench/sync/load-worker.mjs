// autocannon in its own process: in the bench's process the load generator shared the event loop
// with the servers it measures (dfm and the bare server), and each slowed the other. (A worker
// thread does not do: autocannon does not aggregate its result off the main thread.)
// Plain JavaScript so it needs no TypeScript loader. Options: JSON in argv[2]; result: JSON on stdout.
import autocannon from 'autocannon';
import { randomUUID } from 'node:crypto';

const { url, headers, body, connections, seconds, rate, freshDelivery } = JSON.parse(process.argv[2]);
const fresh = () => (freshDelivery ? { ...headers, 'x-github-delivery': randomUUID() } : headers);
const result = await autocannon({
  url,
  method: 'POST',
  connections,
  duration: seconds,
  // At a fixed rate autocannon corrects for coordinated omission with an expected interval of
  // ceil(1 / per-connection rate) = 1 ms (it should be 100 ms at 10 req/s a connection): every
  // response slower than 1 ms then adds made-up samples down to 1 ms, and a few slow ones filled
  // the p99 (the bare server read p50 4 ms, p99 102 ms). The latencies here are the measured ones.
  ...(rate === undefined ? {} : { overallRate: rate, ignoreCoordinatedOmission: true }),
  headers,
  body,
  // A fresh X-GitHub-Delivery per request when asked (each GitHub delivery has its own id).
  requests: [{ setupRequest: (req) => ({ ...req, method: 'POST', headers: fresh(), body }) }],
});
process.stdout.write(JSON.stringify({
  requestsPerSecond: result.requests.average,
  p50: result.latency.p50,
  p99: result.latency.p99,
  max: result.latency.max,
  requests: result.requests.total,
  non2xx: result.non2xx,
  errors: result.errors,
  timeouts: result.timeouts,
}));
