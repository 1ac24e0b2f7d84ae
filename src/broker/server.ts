/**
 * The TCP side: one net.Server per listener, every connection tracked so the broker can stop
 * accepting, let in-flight requests finish and close cleanly. Connection limits in total and per
 * IP (max.connections, max.connections.per.ip) close the newest connection at once, as Kafka does.
 * Connection creation rates (connection-rates.ts) delay a connection over the broker's or its
 * listener's rate, and close one over its IP's rate after the throttle time.
 */
import { createServer, type Server, type Socket } from 'node:net';
import tlsModule, {
  createServer as createTlsServer,
  type TLSSocket,
  type Server as TlsServer,
} from 'node:tls';
import type { BrokerConfig, Listener } from '../config/broker-config.ts';
import type { Limits } from '../config/limits.ts';
import { parseSecurityProtocolMap } from '../config/listeners.ts';
import {
  type ListenerSecurity,
  listenerSecurity,
  resolveListenerSecurity,
} from '../security/listener-security.ts';
import { type CredentialLookup, parseCredential } from '../security/scram.ts';
import { ANONYMOUS, ConnectionSecurity } from '../security/session.ts';
import { Connection, type ConnectionLimits, type ConnectionLogger } from './connection.ts';
import { CONNECTION_RATE_UNLIMITED, ConnectionRates } from './connection-rates.ts';
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

/** What the server needs to secure its listeners (all PLAINTEXT when absent). */
export interface ServerSecurity {
  readonly listeners: ReadonlyMap<string, ListenerSecurity>;
  /** SCRAM credentials of users, read from the metadata store at each authentication. */
  readonly scramCredentials: CredentialLookup;
}

/** The server's security from the broker config, with SCRAM credentials from the store. */
export function serverSecurity(
  config: BrokerConfig,
  users: { userConfigs(user: string): Promise<Map<string, string>> },
): ServerSecurity {
  return {
    listeners: resolveListenerSecurity(config),
    scramCredentials: async (user, mechanism) => {
      const text = (await users.userConfigs(user)).get(mechanism);
      return text === undefined ? undefined : parseCredential(text);
    },
  };
}

const PLAINTEXT_ONLY: ServerSecurity = {
  listeners: new Map(),
  scramCredentials: () => Promise.resolve(undefined),
};

/**
 * A certificate subject (Node's form, one attribute a line) in RFC 2253 form, most specific part
 * first, e.g. CN=alice,OU=eng,O=example: Kafka's principal name with the DEFAULT mapping rule.
 */
export function certificateDistinguishedName(subject: string): string {
  const parts = subject
    .split('\n')
    .filter((p) => p !== '')
    .map((p) => {
      const eq = p.indexOf('=');
      const value = p.slice(eq + 1).replace(/([,+"\\<>;])/g, '\\$1');
      return `${p.slice(0, eq)}=${value}`;
    });
  return parts.reverse().join(',');
}

/** What the connection rates read: the broker config (dynamic), the IP quotas, the listener exempt. */
export interface ConnectionQuotas {
  readonly config: BrokerConfig;
  readonly window: { readonly samples: number; readonly sampleMs: number };
  /** connection_creation_rate by IP, null for the default IP entity. */
  readonly ipRates: () => ReadonlyMap<string | null, number>;
  /** The inter-broker listener, not counted in max.connection.creation.rate when there are others. */
  readonly interBrokerListener: string | null;
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

  readonly #security: ServerSecurity;
  readonly #tlsServers = new Map<string, TlsServer>();
  /** Set by the broker: connection creation rate limits and IP quotas (null: none). */
  connectionQuotas: ConnectionQuotas | null = null;
  #rates: ConnectionRates | null = null;
  /** Set once close() began: connections still waiting for their rate are dropped. */
  #closing = false;
  #listenersClosed: Promise<void>[] = [];
  /** Per listener, the admissions waiting for its connection rate (Kafka's blocked acceptor). */
  readonly #admitting = new Map<string, Promise<void>>();

  constructor(
    dispatcher: Dispatcher,
    limits: ServerLimits,
    log: ConnectionLogger,
    security: ServerSecurity = PLAINTEXT_ONLY,
  ) {
    this.#security = security;
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

  /**
   * Keeps the connection limits and the TLS listeners' certificates in step with the broker's
   * dynamic configs: a keystore changed with AlterConfigs (listener.name.<l>.ssl.keystore.*)
   * serves new connections at once; open ones keep their session, as in Kafka.
   */
  followDynamicConfigs(config: BrokerConfig): void {
    config.followDynamic(() => {
      this.setConnectionLimits(
        config.intValue('max.connections'),
        config.intValue('max.connections.per.ip'),
      );
      this.#reloadTls(config);
    });
  }

  #reloadTls(config: BrokerConfig): void {
    if (this.#tlsServers.size === 0) return;
    const map = parseSecurityProtocolMap(config.settings.listenerSecurityProtocolMap);
    for (const l of config.settings.listeners) {
      const server = this.#tlsServers.get(l.name);
      if (server === undefined) continue;
      try {
        const tls = listenerSecurity(config, l, map).tls;
        if (tls !== null) server.setSecureContext(tls);
      } catch (err) {
        this.#log(`listener ${l.name} keeps its certificate: ${(err as Error).message}`);
      }
    }
  }

  get connectionCount(): number {
    return this.#connections.size;
  }

  async listen(listeners: readonly Listener[]): Promise<void> {
    for (const l of listeners) {
      const server = this.#server(l.name);
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

  /** A listener's server: plain TCP, or TLS with the handshake done before the connection. */
  #server(listenerName: string): Server {
    const security = this.#security.listeners.get(listenerName);
    const tls = security?.tls ?? null;
    if (tls === null) {
      return createServer({ noDelay: true, pauseOnConnect: true }, (socket) =>
        this.#admit(socket, listenerName, null),
      );
    }
    refuseTlsRenegotiation();
    const server: TlsServer = createTlsServer(tls, (socket: TLSSocket) => {
      // ssl.client.auth=requested: no certificate is fine; a certificate that does not verify
      // is not (Kafka's SSLEngine refuses it in the handshake).
      const cert = socket.getPeerX509Certificate?.();
      if (cert !== undefined && !socket.authorized) {
        this.#log(
          `refusing TLS client ${socket.remoteAddress}: certificate not trusted (${String(socket.authorizationError)})`,
        );
        socket.destroy();
        return;
      }
      let principal: string | null = null;
      if (cert !== undefined) {
        // ssl.principal.mapping.rules; a subject no rule applies to is refused, as in Kafka.
        const mapper = this.#security.listeners.get(listenerName)?.tls?.principalMapper;
        const dn = certificateDistinguishedName(cert.subject);
        try {
          principal = `User:${mapper === undefined ? dn : mapper.userOf(dn)}`;
        } catch (err) {
          this.#log(`refusing TLS client ${socket.remoteAddress}: ${(err as Error).message}`);
          socket.destroy();
          return;
        }
      }
      this.#admit(socket, listenerName, principal);
    });
    this.#tlsServers.set(listenerName, server);
    server.on('tlsClientError', (err, socket) => {
      this.#log(
        `TLS handshake with ${socket.remoteAddress} on ${listenerName} failed: ${err.message}`,
      );
    });
    return server;
  }

  /**
   * Stops accepting connections and reading requests; what was read is still answered. The
   * broker does this before it answers what waits on it (acks=all, long polls), so nothing new
   * starts to wait on a broker that is going away.
   */
  stopServing(): void {
    if (this.#closing) return;
    this.#closing = true;
    this.#listenersClosed = this.#servers.map(
      (s) => new Promise<void>((resolve) => s.close(() => resolve())),
    );
    for (const c of this.#connections) c.stopReading();
  }

  /** Stops serving, lets every connection finish what it has read, then closes all. */
  async close(drainTimeoutMs: number): Promise<void> {
    this.stopServing();
    const closing = this.#listenersClosed;
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

  /** The wait before a connection on `listener` from `ip` is served; negative: close it after -wait. */
  #connectionWaitMs(listenerName: string, ip: string): number {
    const q = this.connectionQuotas;
    if (q === null) return 0;
    this.#rates ??= new ConnectionRates(q.window);
    const now = performance.now();
    const ipRates = q.ipRates();
    const ipLimit = ipRates.get(ip) ?? ipRates.get(null) ?? CONNECTION_RATE_UNLIMITED;
    const ipWait = this.#rates.recordIp(ip, ipLimit, now);
    if (ipWait > 0) return -ipWait;
    const listenerKey = `listener.name.${listenerName.toLowerCase()}.max.connection.creation.rate`;
    return this.#rates.recordListener(listenerName, now, {
      broker: q.config.intValue('max.connection.creation.rate'),
      listener: Number(q.config.setValue(listenerKey) ?? CONNECTION_RATE_UNLIMITED),
      // Kafka protects the inter-broker listener only when there are others (a single
      // listener serves clients too).
      protectedListener: listenerName === q.interBrokerListener && this.#bound.length > 1,
    });
  }

  /** Admits a connection after the connection rates allow it (in order, per listener). */
  #admit(socket: Socket, listenerName: string, certPrincipal: string | null): void {
    if (this.connectionQuotas === null) {
      this.#accept(socket, listenerName, certPrincipal);
      return;
    }
    const ip = socket.remoteAddress ?? 'unknown';
    const previous = this.#admitting.get(listenerName) ?? Promise.resolve();
    const next = previous.then(async () => {
      const wait = this.#connectionWaitMs(listenerName, ip);
      if (wait < 0) {
        this.#log(
          `closing connection from ${ip} in ${-wait} ms: over its connection_creation_rate`,
        );
        setTimeout(() => socket.destroy(), -wait).unref();
        return;
      }
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait).unref());
      if (this.#closing) socket.destroy();
      if (socket.destroyed) return;
      this.#accept(socket, listenerName, certPrincipal);
    });
    this.#admitting.set(listenerName, next);
    void next.then(() => {
      if (this.#admitting.get(listenerName) === next) this.#admitting.delete(listenerName);
    });
  }

  #accept(socket: Socket, listenerName: string, certPrincipal: string | null): void {
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
      security: this.#connectionSecurity(listenerName, certPrincipal),
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

  #connectionSecurity(listenerName: string, certPrincipal: string | null): ConnectionSecurity {
    const l = this.#security.listeners.get(listenerName);
    if (l === undefined) return new ConnectionSecurity('PLAINTEXT', null);
    const sasl =
      l.sasl === null ? null : { ...l.sasl, scramCredentials: this.#security.scramCredentials };
    return new ConnectionSecurity(l.protocol, sasl, certPrincipal ?? ANONYMOUS);
  }
}

/**
 * A client's request to renegotiate TLS (1.2; TLS 1.3 has none) closes its connection, as in
 * Kafka, whose SslTransportLayer refuses renegotiation: each one costs the server a handshake's
 * CPU, for nothing a Kafka client needs. Node offers this only as a process-wide limit (by
 * default 3 renegotiations in 10 minutes), so a process that embeds a TLS listener of Tributary
 * refuses renegotiation on its other TLS servers too.
 */
function refuseTlsRenegotiation(): void {
  (tlsModule as { CLIENT_RENEG_LIMIT: number }).CLIENT_RENEG_LIMIT = 0;
}
