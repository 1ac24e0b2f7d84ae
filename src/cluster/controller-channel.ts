/**
 * How the controller talks to brokers (Kafka's ControllerChannelManager): one queue and one
 * connection per live broker, requests sent one at a time in the order the controller made them
 * (a LeaderAndIsr must not overtake the UpdateMetadata that preceded it), a request that failed
 * on a broken connection sent again on a new one, and everything for a broker dropped when it
 * leaves the cluster (its next registration starts afresh).
 */
import { type ClientSecurity, LazyConnection } from '../client/lazy-connection.ts';
import type { Clock } from '../common/clock.ts';

export interface ChannelSettings {
  readonly controllerId: number;
  readonly connectTimeoutMs: number;
  readonly requestTimeoutMs: number;
  /** Wait before reconnecting to a broker that could not be reached. */
  readonly retryBackoffMs: number;
  /** TLS and SASL of the inter-broker listener; plaintext without. */
  readonly security?: () => ClientSecurity;
}

export interface BrokerAddress {
  readonly host: string;
  readonly port: number;
}

interface QueuedRequest {
  readonly apiKey: number;
  readonly version: number;
  readonly body: unknown;
  readonly resolve: (response: unknown) => void;
  readonly reject: (err: Error) => void;
}

/** The controller moved on (resigned, or the broker left): queued requests are not sent. */
export class ChannelClosedError extends Error {
  constructor(what: string) {
    super(what);
    this.name = 'ChannelClosedError';
  }
}

class BrokerQueue {
  readonly #brokerId: number;
  readonly #address: BrokerAddress;
  readonly #settings: ChannelSettings;
  readonly #clock: Clock;
  readonly #log: (message: string) => void;
  readonly #queue: QueuedRequest[] = [];
  readonly #connection: LazyConnection;
  #draining = false;
  #closed = false;

  constructor(
    brokerId: number,
    address: BrokerAddress,
    settings: ChannelSettings,
    clock: Clock,
    log: (message: string) => void,
  ) {
    this.#brokerId = brokerId;
    this.#address = address;
    this.#settings = settings;
    this.#clock = clock;
    this.#log = log;
    this.#connection = new LazyConnection(() => address, {
      clientId: `controller-${settings.controllerId}`,
      connectTimeoutMs: settings.connectTimeoutMs,
      requestTimeoutMs: settings.requestTimeoutMs,
      ...(settings.security === undefined ? {} : { security: settings.security }),
    });
  }

  get address(): BrokerAddress {
    return this.#address;
  }

  send<Res>(apiKey: number, version: number, body: unknown): Promise<Res> {
    if (this.#closed)
      return Promise.reject(new ChannelClosedError(`broker ${this.#brokerId} left`));
    return new Promise<Res>((resolve, reject) => {
      this.#queue.push({ apiKey, version, body, resolve: (r) => resolve(r as Res), reject });
      void this.#drain();
    });
  }

  async #drain(): Promise<void> {
    if (this.#draining) return;
    this.#draining = true;
    try {
      while (!this.#closed) {
        const head = this.#queue[0];
        if (head === undefined) return;
        try {
          const conn = await this.#connection.get();
          const response = await conn.send<unknown>(head.apiKey, head.version, head.body);
          this.#queue.shift();
          head.resolve(response);
        } catch (err) {
          if (this.#closed) return;
          // The broker is unreachable or the connection broke: retry the same request on a new
          // connection (the broker may have restarted; the controller's next state is what it
          // must see, and the queue keeps the order).
          this.#log(`controller channel to broker ${this.#brokerId}: ${String(err)}`);
          await this.#connection.drop();
          await sleep(this.#clock, this.#settings.retryBackoffMs);
        }
      }
    } finally {
      this.#draining = false;
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const r of this.#queue.splice(0)) {
      r.reject(new ChannelClosedError(`broker ${this.#brokerId} left`));
    }
    await this.#connection.drop();
  }
}

function sleep(clock: Clock, ms: number): Promise<void> {
  return new Promise((resolve) => clock.schedule(ms, resolve));
}

export class ControllerChannel {
  readonly #settings: ChannelSettings;
  readonly #clock: Clock;
  readonly #log: (message: string) => void;
  readonly #brokers = new Map<number, BrokerQueue>();

  constructor(settings: ChannelSettings, clock: Clock, log: (message: string) => void) {
    this.#settings = settings;
    this.#clock = clock;
    this.#log = log;
  }

  /** Starts (or, at a new address, restarts) the queue of a broker that registered. */
  addBroker(brokerId: number, address: BrokerAddress): void {
    const existing = this.#brokers.get(brokerId);
    if (existing !== undefined) {
      const same = existing.address.host === address.host && existing.address.port === address.port;
      if (same) return;
      void existing.close();
    }
    this.#brokers.set(
      brokerId,
      new BrokerQueue(brokerId, address, this.#settings, this.#clock, this.#log),
    );
  }

  /** Drops a broker that left: its queued requests fail with ChannelClosedError. */
  removeBroker(brokerId: number): void {
    const q = this.#brokers.get(brokerId);
    this.#brokers.delete(brokerId);
    void q?.close();
  }

  brokers(): number[] {
    return [...this.#brokers.keys()];
  }

  send<Res>(brokerId: number, apiKey: number, version: number, body: unknown): Promise<Res> {
    const q = this.#brokers.get(brokerId);
    if (q === undefined) {
      return Promise.reject(new ChannelClosedError(`broker ${brokerId} is not live`));
    }
    return q.send<Res>(apiKey, version, body);
  }

  async close(): Promise<void> {
    const queues = [...this.#brokers.values()];
    this.#brokers.clear();
    await Promise.all(queues.map((q) => q.close()));
  }
}
