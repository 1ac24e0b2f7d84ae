/**
 * How long the broker takes per request, by API: from dispatch (the frame read and taken up) to
 * the response handed to the socket, as Kafka's RequestMetrics TotalTimeMs (without the time a
 * request waits unread while its connection is held back). A long poll's wait counts, as in
 * Kafka. Kept as log-scale histograms (about 4% wide buckets from 1 us to about 100 s), so
 * recording costs a clock read and an increment.
 *
 * `tributary start` prints them on SIGUSR2 and starts counting afresh (docs/operations.md); the
 * embedded broker exposes them as `requestTimes()`. Benchmarks use them to separate the broker's
 * share of end-to-end latency from the clients'.
 */
import { apiDescriptors } from '../protocol/messages/api-table.ts';

const BUCKETS_PER_DOUBLING = 16;
const MIN_MS = 0.001;
const BUCKETS = 27 * BUCKETS_PER_DOUBLING;

export interface RequestTimeSummary {
  readonly api: string;
  readonly count: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
  readonly maxMs: number;
}

function bucketOf(ms: number): number {
  if (ms <= MIN_MS) return 0;
  const b = Math.floor(Math.log2(ms / MIN_MS) * BUCKETS_PER_DOUBLING);
  return Math.min(BUCKETS - 1, b);
}

/** Upper edge of a bucket: a percentile is reported as at most this. */
function bucketTop(b: number): number {
  return MIN_MS * 2 ** ((b + 1) / BUCKETS_PER_DOUBLING);
}

/** Requests and their time in ms since start, which a reset keeps (the metrics endpoint). */
export interface RequestTotals {
  readonly api: string;
  readonly countTotal: number;
  readonly msTotal: number;
  /** Since start or the last reset, as the summary. */
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
}

class Histogram {
  readonly counts = new Uint32Array(BUCKETS);
  count = 0;
  maxMs = 0;
  countTotal = 0;
  msTotal = 0;

  record(ms: number): void {
    const b = bucketOf(ms);
    this.counts[b] = (this.counts[b] as number) + 1;
    this.count++;
    this.countTotal++;
    this.msTotal += ms;
    if (ms > this.maxMs) this.maxMs = ms;
  }

  reset(): void {
    this.counts.fill(0);
    this.count = 0;
    this.maxMs = 0;
  }

  percentile(q: number): number {
    const rank = Math.ceil(q * this.count);
    let seen = 0;
    for (let b = 0; b < BUCKETS; b++) {
      seen += this.counts[b] as number;
      if (seen >= rank) return Math.min(bucketTop(b), this.maxMs);
    }
    return this.maxMs;
  }
}

export class RequestTimes {
  readonly #byApi = new Map<number, Histogram>();

  record(apiKey: number, ms: number): void {
    let h = this.#byApi.get(apiKey);
    if (h === undefined) {
      h = new Histogram();
      this.#byApi.set(apiKey, h);
    }
    h.record(ms);
  }

  /** Per API with requests, by API key. */
  summary(): RequestTimeSummary[] {
    return [...this.#byApi.entries()]
      .filter((e) => e[1].count > 0)
      .sort((a, b) => a[0] - b[0])
      .map(([key, h]) => ({
        api: apiDescriptors.get(key)?.name ?? String(key),
        count: h.count,
        p50Ms: h.percentile(0.5),
        p99Ms: h.percentile(0.99),
        p999Ms: h.percentile(0.999),
        maxMs: h.maxMs,
      }));
  }

  /** Per API with requests since start, by API key. */
  totals(): RequestTotals[] {
    return [...this.#byApi.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([key, h]) => ({
        api: apiDescriptors.get(key)?.name ?? String(key),
        countTotal: h.countTotal,
        msTotal: h.msTotal,
        p50Ms: h.count === 0 ? Number.NaN : h.percentile(0.5),
        p99Ms: h.count === 0 ? Number.NaN : h.percentile(0.99),
        p999Ms: h.count === 0 ? Number.NaN : h.percentile(0.999),
      }));
  }

  /** Starts the percentiles afresh; the totals go on. */
  reset(): void {
    for (const h of this.#byApi.values()) h.reset();
  }
}

/** One line per API, for logs. */
export function formatRequestTimes(summary: readonly RequestTimeSummary[]): string {
  const ms = (x: number) => (x < 10 ? x.toFixed(3) : x.toFixed(1));
  return summary
    .map(
      (s) =>
        `request time ${s.api}: n=${s.count} p50=${ms(s.p50Ms)} p99=${ms(s.p99Ms)} p99.9=${ms(s.p999Ms)} max=${ms(s.maxMs)} ms`,
    )
    .join('\n');
}
