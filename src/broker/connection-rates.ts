/**
 * Connection creation rates (KIP-612), measured as Kafka's ConnectionQuotas does: one rate for
 * the broker (max.connection.creation.rate, every listener but the inter-broker one), one per
 * listener (listener.name.<listener>.max.connection.creation.rate) and one per IP address
 * (the connection_creation_rate quota of /config/ips/<ip>, else /config/ips/<default>), over
 * quota.window.num samples of quota.window.size.seconds. A connection over the broker's or its
 * listener's rate waits (Kafka's acceptor blocks for the throttle time, so later connections of
 * that listener wait behind it); one over its IP's rate is not counted and is closed after the
 * throttle time, as Kafka closes it.
 */
import { QuotaRate, type QuotaWindowConfig, throttleTimeMs } from '../security/quota-rate.ts';

/** A rate this large is no limit (Kafka's default, Int.MaxValue). */
export const CONNECTION_RATE_UNLIMITED = 2147483647;

export class ConnectionRates {
  readonly #window: QuotaWindowConfig;
  #broker: QuotaRate | null = null;
  readonly #listeners = new Map<string, QuotaRate>();
  readonly #ips = new Map<string, QuotaRate>();

  constructor(window: QuotaWindowConfig) {
    this.#window = window;
  }

  /**
   * Records a connection on `listener` at `nowMs` against the broker-wide limit (unless the
   * listener is protected: the inter-broker one) and the listener's; the wait, capped at one
   * window sample (Kafka's bounded throttle).
   */
  recordListener(
    listener: string,
    nowMs: number,
    limits: { broker: number; listener: number; protectedListener: boolean },
  ): number {
    let wait = 0;
    if (!limits.protectedListener && limits.broker < CONNECTION_RATE_UNLIMITED) {
      this.#broker ??= new QuotaRate(this.#window, nowMs);
      wait = this.#recorded(this.#broker, limits.broker, nowMs);
    }
    if (limits.listener < CONNECTION_RATE_UNLIMITED) {
      let rate = this.#listeners.get(listener);
      if (rate === undefined) {
        rate = new QuotaRate(this.#window, nowMs);
        this.#listeners.set(listener, rate);
      }
      wait = Math.max(wait, this.#recorded(rate, limits.listener, nowMs));
    }
    return wait;
  }

  /**
   * Records a connection from `ip` against its limit; over it, the connection is taken back
   * and the time after which to close it is returned.
   */
  recordIp(ip: string, limit: number, nowMs: number): number {
    if (limit >= CONNECTION_RATE_UNLIMITED) return 0;
    this.#sweep(nowMs);
    let rate = this.#ips.get(ip);
    if (rate === undefined) {
      rate = new QuotaRate(this.#window, nowMs);
      this.#ips.set(ip, rate);
    }
    const wait = this.#recorded(rate, limit, nowMs);
    if (wait > 0) rate.record(-1, nowMs);
    return wait;
  }

  #recorded(rate: QuotaRate, limit: number, nowMs: number): number {
    rate.record(1, nowMs);
    const observed = rate.measure(nowMs);
    if (observed <= limit) return 0;
    return Math.min(throttleTimeMs(observed, limit, rate.windowMs(nowMs)), this.#window.sampleMs);
  }

  /** IPs not seen for a whole window are forgotten (their rate is back to 0 anyway). */
  #sweep(nowMs: number): void {
    if (this.#ips.size < 1024) return;
    const idleMs = this.#window.samples * this.#window.sampleMs;
    for (const [ip, rate] of this.#ips)
      if (nowMs - rate.lastRecordMs >= idleMs) this.#ips.delete(ip);
  }
}
