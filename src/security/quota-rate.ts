/**
 * A rate measured as Kafka's quota sensors measure it (org.apache.kafka.common.metrics.stats.Rate
 * over a SampledStat, Kafka 3.9): samples of `sampleMs` each, `samples` of them in the window
 * plus one that may overlap its start; a sample starts at the first value recorded after the
 * previous one is complete (not on a fixed grid). The rate is the sum of the kept samples over
 * the time they span, counted as at least `samples - 1` full samples, so the first burst of a
 * new client is judged over ten seconds (by default), not over its own few milliseconds.
 *
 * A value recorded past the bound makes the throttle time the delay that brings the rate back
 * to the bound if nothing else is recorded: with O the observed rate, T the bound and W the
 * window, X such that O * W / (W + X) = T, i.e. X = (O - T) / T * W (ClientQuotaManager).
 * Times are monotonic milliseconds, passed in by the caller (no clock is read here).
 */

export interface QuotaWindowConfig {
  /** quota.window.size.seconds, in ms. */
  readonly sampleMs: number;
  /** quota.window.num */
  readonly samples: number;
}

interface Sample {
  value: number;
  startMs: number;
  lastEventMs: number;
}

export class QuotaRate {
  readonly #config: QuotaWindowConfig;
  readonly #samples: Sample[] = [];
  #current = 0;
  /** When a value was last recorded (sensors idle for an hour are dropped, as in Kafka). */
  lastRecordMs: number;

  constructor(config: QuotaWindowConfig, nowMs: number) {
    if (config.samples < 1 || config.sampleMs < 1) throw new Error('quota window out of range');
    this.#config = config;
    this.lastRecordMs = nowMs;
  }

  /** Adds `value` (bytes, or request-time percentage) at `nowMs`; negative values unrecord. */
  record(value: number, nowMs: number): void {
    let sample = this.#currentSample(nowMs);
    if (nowMs - sample.startMs >= this.#config.sampleMs) sample = this.#advance(nowMs);
    sample.value += value;
    sample.lastEventMs = nowMs;
    this.lastRecordMs = nowMs;
  }

  /** The rate per second at `nowMs`. */
  measure(nowMs: number): number {
    this.#purge(nowMs);
    let total = 0;
    for (const s of this.#samples) total += s.value;
    return total / (this.windowMs(nowMs) / 1000);
  }

  /** The time the rate is computed over at `nowMs` (Rate.windowSize). */
  windowMs(nowMs: number): number {
    this.#purge(nowMs);
    let oldest = this.#currentSample(nowMs).startMs;
    for (const s of this.#samples) oldest = Math.min(oldest, s.startMs);
    let elapsed = nowMs - oldest;
    const fullSamples = Math.floor(elapsed / this.#config.sampleMs);
    const minFullSamples = this.#config.samples - 1;
    if (fullSamples < minFullSamples)
      elapsed += (minFullSamples - fullSamples) * this.#config.sampleMs;
    return Math.max(elapsed, 1);
  }

  #currentSample(nowMs: number): Sample {
    if (this.#samples.length === 0) this.#samples.push(newSample(nowMs));
    return this.#samples[this.#current] as Sample;
  }

  /** The next sample: a new one while fewer than samples + 1 exist, else the oldest, reset. */
  #advance(nowMs: number): Sample {
    this.#current = (this.#current + 1) % (this.#config.samples + 1);
    if (this.#current >= this.#samples.length) {
      const sample = newSample(nowMs);
      this.#samples.push(sample);
      return sample;
    }
    const sample = this.#samples[this.#current] as Sample;
    reset(sample, nowMs);
    return sample;
  }

  /** Samples without an event in the whole window are emptied (they start again at `nowMs`). */
  #purge(nowMs: number): void {
    const expireMs = this.#config.samples * this.#config.sampleMs;
    for (const s of this.#samples) if (nowMs - s.lastEventMs >= expireMs) reset(s, nowMs);
  }
}

function newSample(nowMs: number): Sample {
  return { value: 0, startMs: nowMs, lastEventMs: nowMs };
}

function reset(s: Sample, nowMs: number): void {
  s.value = 0;
  s.startMs = nowMs;
  s.lastEventMs = nowMs;
}

/**
 * Kafka's throttle time for a rate `observed` over `bound` measured over `windowMs`: the delay
 * that brings the rate back to the bound, rounded to the millisecond (0 within the bound).
 */
export function throttleTimeMs(observed: number, bound: number, windowMs: number): number {
  if (observed <= bound) return 0;
  return Math.round(((observed - bound) / bound) * windowMs);
}
