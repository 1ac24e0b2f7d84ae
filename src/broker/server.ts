/**
 * The TCP side: one net.Server per listener, every connection tracked so the broker can stop
 * accepting, let in-flight requests finish and close cleanly. Connection limits in total and per
 * IP (max.connections, max.connections.per.ip) close the newest connection at once, as Kafka does.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { BrokerConfig, Listener } from '../config/broker-config.ts';
import type { Limits } from '../config/limits.ts';
import { Connection, type ConnectionLimits, type ConnectionLogger } from './connection.ts';
import type { Dispatcher } from './dispatcher.ts';
import { RequestTimes } from './request-times.ts';

export interface ServerLimits extends ConnectionLimits {
  readonly connectionsMax: number;
  readonly connectionsPerIpMax: number;
}

/** The server's and its connections' limits, from the broker's named limits (limits.ts). */
export function serverLimitsFrom(limits: Limits): ServerLimits {
  return {
    requestBytesMax: limits.requestBytesMax,
    inflightRequestsMax: limits.inflightRequestsPerConnectionMax,
    bufferedBytesMax: limits.connectionBufferedBytesMax,
    idleMs: limits.connectionIdleMs,
    connectionsMax: limits.connectionsMax,
    connectionsPerIpMax: limits.connectionsPerIpMax,
  };
}

export interface BoundListener {
  readonly name: string;
  readonly host: string;
  readonly port: number;
}

export class KafkaServer {
  readonly #dispatcher: Dispatcher;
  #limits: ServerLimits;
  readonly #log: ConnectionLogger;
  readonly #servers: Server[] = [];
  /** Time per request by API, over every connection (request-times.ts). */
  readonly requestTimes = new RequestTimes();
  readonly #connections = new Set<Connection>();
  readonly #perIp = new Map<string, number>();
  #nextId = 1;
  #bound: BoundListener[] = [];

  constructor(dispatcher: Dispatcher, limits: ServerLimits, log: ConnectionLogger) {
    this.#dispatcher = dispatcher;
    this.#limits = limits;
    this.#log = log;
  }

  get listeners(): readonly BoundListener[] {
    return this.#bound;
  }

  /**
   * max.connections and max.connections.per.ip changed (dynamic broker configs): new connections
   * count against the new limits; open ones stay, as in Kafka.
   */
  setConnectionLimits(connectionsMax: number, connectionsPerIpMax: number): void {
    this.#limits = { ...this.#limits, connectionsMax, connectionsPerIpMax };
  }

  /** Keeps the connection limits in step with the broker's dynamic configs. */
  followConnectionLimits(config: BrokerConfig): void {
    config.followDynamic(() =>
      this.setConnectionLimits(
        config.intValue('max.connections'),
        config.intValue('max.connections.per.ip'),
      ),
    );
  }

  get connectionCount(): number {
    return this.#connections.size;
  }

  async listen(listeners: readonly Listener[]): Promise<void> {
    for (const l of listeners) {
      const server = createServer({ noDelay: true, pauseOnConnect: true }, (socket) =>
        this.#accept(socket, l.name),
      );
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(
          { host: l.host === '' ? undefined : l.host, port: l.port, backlog: 1024 },
          () => {
            server.off('error', reject);
            resolve();
          },
        );
      });
      server.on('error', (err) => this.#log(`listener ${l.name} error: ${err.message}`));
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : l.port;
      this.#servers.push(server);
      this.#bound.push({ name: l.name, host: l.host, port });
    }
  }

  /** Stops accepting, lets every connection finish what it has read, then closes all. */
  async close(drainTimeoutMs: number): Promise<void> {
    const closing = this.#servers.map(
      (s) => new Promise<void>((resolve) => s.close(() => resolve())),
    );
    for (const c of this.#connections) c.stopReading();
    // Each connection closes as soon as its own requests are answered: a client whose requests
    // are done reconnects elsewhere at once instead of waiting, unread, for the slowest
    // connection (a long poll, a rebalance) to finish.
    const drained = Promise.all([...this.#connections].map((c) => c.drained().then(() => c.end())));
    await Promise.race([drained, new Promise((r) => setTimeout(r, drainTimeoutMs).unref())]);
    for (const c of this.#connections) c.close();
    await Promise.all(closing);
  }

  /** A snapshot of every connection's back-pressure state (operations, tests). */
  connectionStats(): {
    id: number;
    inflight: number;
    queuedResponseBytes: number;
    readingPaused: boolean;
    directReads: boolean;
  }[] {
    return [...this.#connections].map((c) => ({
      id: c.info.id,
      inflight: c.inflight,
      queuedResponseBytes: c.queuedResponseBytes,
      readingPaused: c.readingPaused,
      directReads: c.directReads,
    }));
  }

  /** Closes every client connection (fault injection; listeners stay open). */
  dropConnections(): void {
    for (const c of this.#connections) c.close('dropped');
  }

  #accept(socket: Socket, listenerName: string): void {
    const ip = socket.remoteAddress ?? 'unknown';
    const fromIp = this.#perIp.get(ip) ?? 0;
    if (this.#connections.size >= this.#limits.connectionsMax) {
      this.#log(`refusing connection from ${ip}: max.connections=${this.#limits.connectionsMax}`);
      socket.destroy();
      return;
    }
    if (fromIp >= this.#limits.connectionsPerIpMax) {
      this.#log(`refusing connection from ${ip}: max.connections.per.ip reached`);
      socket.destroy();
      return;
    }
    this.#perIp.set(ip, fromIp + 1);
    const info = {
      id: this.#nextId++,
      listenerName,
      remoteAddress: ip,
      remotePort: socket.remotePort ?? 0,
    };
    const connection = new Connection(
      socket,
      info,
      this.#dispatcher,
      this.#limits,
      this.#log,
      this.requestTimes,
      () => {
        this.#connections.delete(connection);
        const n = (this.#perIp.get(ip) ?? 1) - 1;
        if (n <= 0) this.#perIp.delete(ip);
        else this.#perIp.set(ip, n);
      },
    );
    this.#connections.add(connection);
  }
}
