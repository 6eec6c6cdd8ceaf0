// autocannon in its own process: in the bench's process the load generator shared the event loop
// with the servers it measures (dfm and the bare server), and each slowed the other. (A worker
// thread does not do: autocannon does not aggregate its result off the main thread.)
// Plain JavaScript so it needs no TypeScript loader. Options: JSON in argv[2]; result: JSON on stdout.
import autocannon from 'autocannon';
import { randomUUID } from 'node:crypto';
import http from 'node:http';

const { url, headers, body, connections, seconds, rate, freshDelivery } = JSON.parse(process.argv[2]);
const fresh = () => (freshDelivery ? { ...headers, 'x-github-delivery': randomUUID() } : headers);

if (rate !== undefined) {
  // A fixed rate, evenly spaced: one request every 1000/rate ms on a schedule fixed at the start,
  // each latency measured from its scheduled send time (so a server that falls behind is charged
  // for the wait: no coordinated omission). autocannon's overallRate sends each second's quota as
  // fast as it can at the start of the second, so its p99 at 100 req/s was the wait of the last of
  // 100 simultaneous requests, not the latency of a steady 100 req/s.
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  const target = new URL(url);
  const interval = 1000 / rate;
  const total = Math.round(seconds * rate);
  const latencies = [];
  let non2xx = 0;
  let errors = 0;
  const start = performance.now() + 20;
  const send = (scheduled) =>
    new Promise((resolve) => {
      const req = http.request({ host: target.hostname, port: target.port, path: target.pathname + target.search, method: 'POST', headers: { ...fresh(), 'content-length': Buffer.byteLength(body) }, agent }, (res) => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode < 200 || res.statusCode >= 300) non2xx += 1;
          latencies.push(performance.now() - scheduled);
          resolve();
        });
      });
      req.on('error', () => {
        errors += 1;
        resolve();
      });
      req.end(body);
    });
  const inFlight = [];
  for (let i = 0; i < total; i++) {
    const scheduled = start + i * interval;
    const wait = scheduled - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    inFlight.push(send(scheduled));
  }
  await Promise.all(inFlight);
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const at = (q) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  const elapsed = (performance.now() - start) / 1000;
  process.stdout.write(JSON.stringify({ requestsPerSecond: latencies.length / elapsed, p50: at(0.5), p99: at(0.99), max: latencies.at(-1) ?? 0, requests: latencies.length, non2xx, errors, timeouts: 0 }));
} else {
  const result = await autocannon({
    url,
    method: 'POST',
    connections,
    duration: seconds,
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
}
