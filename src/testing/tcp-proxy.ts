/**
 * Test harness: a TCP proxy on 127.0.0.1 in front of one server, whose link can be cut at once.
 *
 * A power loss takes a machine off the network without a goodbye: its ZooKeeper session is not
 * closed, it just stops heartbeating, and the server expires it after the session timeout. An
 * in-process broker cannot be unplugged, so it reaches ZooKeeper through a proxy, and `cut()`
 * destroys every connection and refuses new ones, in the same tick. `block()` does the same for a
 * while, on the same port, until `unblock()` (the fault soak expires a broker's session that way,
 * and the broker reconnects through the same address afterwards).
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export class TcpProxy {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  #port = 0;
  #cut = false;
  #blocked = false;

  private constructor(targetHost: string, targetPort: number) {
    this.#server = createServer((client) => {
      if (this.#cut || this.#blocked) {
        client.destroy();
        return;
      }
      const upstream = connect({ host: targetHost, port: targetPort });
      this.#sockets.add(client);
      this.#sockets.add(upstream);
      const drop = () => {
        client.destroy();
        upstream.destroy();
        this.#sockets.delete(client);
        this.#sockets.delete(upstream);
      };
      client.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
      client.pipe(upstream);
      upstream.pipe(client);
    });
  }

  static async start(targetHost: string, targetPort: number): Promise<TcpProxy> {
    const proxy = new TcpProxy(targetHost, targetPort);
    await new Promise<void>((resolve, reject) => {
      proxy.#server.once('error', reject);
      proxy.#server.listen(0, '127.0.0.1', () => resolve());
    });
    const address = proxy.#server.address();
    if (address === null || typeof address === 'string') throw new Error('proxy has no port');
    proxy.#port = address.port;
    return proxy;
  }

  get port(): number {
    return this.#port;
  }

  /** `127.0.0.1:port`, to put in a connect string in place of the server's address. */
  get address(): string {
    return `127.0.0.1:${this.#port}`;
  }

  /** Drops every connection now and refuses new ones until `unblock()`; the port stays bound. */
  block(): void {
    this.#blocked = true;
    for (const s of this.#sockets) s.destroy();
    this.#sockets.clear();
  }

  unblock(): void {
    this.#blocked = false;
  }

  get blocked(): boolean {
    return this.#blocked;
  }

  /** Unplugs: every connection is destroyed now, and new ones are refused. */
  cut(): void {
    if (this.#cut) return;
    this.#cut = true;
    this.#server.close();
    for (const s of this.#sockets) s.destroy();
    this.#sockets.clear();
  }
}
