/**
 * Test harness: the links between brokers, each of which can be cut and healed.
 *
 * Every broker of a fault-soak cluster has a second listener, REPLICATION, named in
 * `inter.broker.listener.name` and advertised at a `LinkProxy` in front of it: the controller's
 * requests, replica fetches and controlled shutdowns reach a broker only through its proxy, while
 * clients and ZooKeeper are reached directly. The proxy reads the client id of the first request
 * on a connection, which names the broker it comes from (`broker-N-fetcher-L`, `controller-N`,
 * `broker-N-shutdown`), and drops the connection when the `Links` say that pair is cut. Cutting a
 * link also drops the connections already open across it. So a leader can be cut from its
 * followers and the controller while it keeps its ZooKeeper session and its clients.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

/** Which broker pairs are cut; shared by every broker's proxy. */
export class Links {
  readonly #cut = new Set<string>();
  readonly #proxies: LinkProxy[] = [];

  static #key(a: number, b: number): string {
    return a < b ? `${a}-${b}` : `${b}-${a}`;
  }

  isCut(a: number, b: number): boolean {
    return this.#cut.has(Links.#key(a, b));
  }

  /** Cuts `id` from every broker in `others` (both directions). */
  isolate(id: number, others: readonly number[]): void {
    for (const o of others) if (o !== id) this.#cut.add(Links.#key(id, o));
    for (const p of this.#proxies) p.enforce();
  }

  /** Every link works again. */
  heal(): void {
    this.#cut.clear();
  }

  get cutCount(): number {
    return this.#cut.size;
  }

  register(proxy: LinkProxy): void {
    this.#proxies.push(proxy);
  }
}

interface Piped {
  readonly client: Socket;
  readonly upstream: Socket;
  /** The broker the connection comes from, once its first request has been read. */
  source: number | undefined;
}

/** The broker id a client id names, for the client ids brokers use between themselves. */
export function sourceBroker(clientId: string): number | undefined {
  const m = /^(?:broker|controller)-(\d+)(?:-|$)/.exec(clientId);
  return m === null ? undefined : Number(m[1]);
}

/**
 * The client id of a request frame's header (v1+: int16 length, then the bytes; -1 for null),
 * or undefined while fewer bytes than needed have arrived.
 */
export function frameClientId(head: Buffer): string | null | undefined {
  // size(4) apiKey(2) apiVersion(2) correlationId(4) clientIdLength(2)
  if (head.length < 14) return undefined;
  const length = head.readInt16BE(12);
  if (length < 0) return null;
  if (head.length < 14 + length) return undefined;
  return head.toString('utf8', 14, 14 + length);
}

/** A proxy in front of one broker's inter-broker listener. */
export class LinkProxy {
  readonly id: number;
  readonly #server: Server;
  readonly #links: Links;
  readonly #piped = new Set<Piped>();
  #targetPort: number;
  #port = 0;
  #closed = false;

  private constructor(id: number, links: Links, targetPort: number) {
    this.id = id;
    this.#links = links;
    this.#targetPort = targetPort;
    this.#server = createServer((client) => this.#accept(client));
    links.register(this);
  }

  /** Listens on `port` (0: any) in front of 127.0.0.1:`targetPort`. */
  static async start(
    id: number,
    links: Links,
    port: number,
    targetPort: number,
  ): Promise<LinkProxy> {
    const proxy = new LinkProxy(id, links, targetPort);
    await new Promise<void>((resolve, reject) => {
      proxy.#server.once('error', reject);
      proxy.#server.listen(port, '127.0.0.1', () => resolve());
    });
    const address = proxy.#server.address();
    if (address === null || typeof address === 'string') throw new Error('proxy has no port');
    proxy.#port = address.port;
    return proxy;
  }

  get port(): number {
    return this.#port;
  }

  /** Drops the connections whose link is now cut. */
  enforce(): void {
    for (const p of this.#piped) {
      if (p.source !== undefined && this.#links.isCut(p.source, this.id)) this.#drop(p);
    }
  }

  close(): void {
    this.#closed = true;
    this.#server.close();
    for (const p of this.#piped) this.#drop(p);
  }

  #drop(p: Piped): void {
    p.client.destroy();
    p.upstream.destroy();
    this.#piped.delete(p);
  }

  #accept(client: Socket): void {
    if (this.#closed) {
      client.destroy();
      return;
    }
    const upstream = connect({ host: '127.0.0.1', port: this.#targetPort });
    const p: Piped = { client, upstream, source: undefined };
    this.#piped.add(p);
    const drop = () => this.#drop(p);
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    upstream.pipe(client);
    // Hold the client's bytes until its first request header names the source broker.
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const clientId = frameClientId(head);
      if (clientId === undefined && head.length < 4096) return;
      client.off('data', onData);
      p.source = sourceBroker(clientId ?? '');
      if (p.source !== undefined && this.#links.isCut(p.source, this.id)) {
        drop();
        return;
      }
      upstream.write(head);
      client.pipe(upstream);
    };
    client.on('data', onData);
  }
}
