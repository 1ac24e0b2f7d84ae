/**
 * The HTTP endpoint of `metrics.listener` (http://host:port; port 0 takes any free port):
 *
 *   GET /metrics  the Prometheus text format: the broker's metrics (broker-metrics.ts) and
 *                 Node's (prom-client's default metrics: event-loop lag, GC pauses, heap, ...)
 *   GET /health   200 while the process is live
 *   GET /ready    200 once the broker serves (every local log loaded, listeners bound), 503
 *                 before and once it is stopping
 *
 * It is opened first thing at start, so /health and /ready answer while the logs load; the
 * broker attaches its metrics once it serves. Only GET and HEAD are answered (405 otherwise).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { assert } from '../common/assert.ts';
import { TributaryError } from '../common/errors.ts';
import { CONTENT_TYPE } from './exposition.ts';

/** host and port of a metrics.listener value (validated by the config definition). */
export function parseMetricsListener(value: string): { host: string; port: number } {
  const m = /^http:\/\/(\[[0-9a-fA-F:.]+\]|[^:/\s[\]]+):(\d{1,5})\/?$/.exec(value);
  const port = Number(m?.[2]);
  if (m === null || port > 65535) {
    throw new TributaryError(
      'BRK_CONFIG_INVALID',
      `metrics.listener: not http://host:port: ${value}`,
    );
  }
  return { host: (m[1] as string).replace(/^\[(.*)\]$/, '$1'), port };
}

/** The broker's part of /metrics (BrokerMetrics). */
export interface BrokerExposition {
  collect(): string;
}

export class MetricsServer {
  readonly #server: Server;
  readonly #node = new Registry();
  #broker: BrokerExposition | null = null;
  #ready = false;

  private constructor(server: Server) {
    this.#server = server;
    collectDefaultMetrics({ register: this.#node });
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      this.#answer(req, res).catch((err: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`${String(err)}\n`);
      });
    });
  }

  /** Listens on `listener` (http://host:port); resolves once bound. */
  static async open(listener: string): Promise<MetricsServer> {
    const { host, port } = parseMetricsListener(listener);
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return new MetricsServer(server);
  }

  /** The bound address, as http://host:port (the real port where 0 was asked). */
  get url(): string {
    const a = this.#server.address() as AddressInfo;
    const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
    return `http://${host}:${a.port}`;
  }

  /** The broker serves: /ready answers 200 and /metrics includes the broker's metrics. */
  ready(metrics: BrokerExposition): void {
    this.#broker = metrics;
    this.#ready = true;
  }

  /** The broker is stopping: /ready answers 503 from now on. */
  notReady(): void {
    this.#ready = false;
  }

  async close(): Promise<void> {
    this.#ready = false;
    await new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }

  async #answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('GET only\n');
      return;
    }
    if (path === '/health') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    } else if (path === '/ready') {
      const ready = this.#ready;
      res.writeHead(ready ? 200 : 503, { 'content-type': 'text/plain' });
      res.end(ready ? 'ready\n' : 'starting\n');
    } else if (path === '/metrics') {
      const body = `${this.#broker?.collect() ?? ''}${await this.#node.metrics()}`;
      assert(body.endsWith('\n'), 'an exposition ends with a newline');
      res.writeHead(200, { 'content-type': CONTENT_TYPE }).end(req.method === 'HEAD' ? '' : body);
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    }
  }
}
