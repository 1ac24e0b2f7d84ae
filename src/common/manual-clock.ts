/**
 * A Clock (src/common/clock.ts) that only moves when the test says so. Timers fire, in due-time
 * order (ties in scheduling order), during `advance`; a timer scheduled by a firing timer fires in
 * the same `advance` if it falls due within it.
 */
import type { Clock, TimerHandle } from './clock.ts';

interface Timer {
  readonly dueMs: number;
  readonly seq: number;
  readonly fn: () => void;
  cancelled: boolean;
}

export class ManualClock implements Clock {
  #wallMs: number;
  #monoMs = 0;
  #seq = 0;
  #timers: Timer[] = [];

  constructor(startWallMs = 1_700_000_000_000) {
    this.#wallMs = startWallMs;
  }

  nowMs(): number {
    return this.#wallMs;
  }

  monotonicMs(): number {
    return this.#monoMs;
  }

  schedule(delayMs: number, fn: () => void): TimerHandle {
    const timer: Timer = {
      dueMs: this.#monoMs + Math.max(0, delayMs),
      seq: this.#seq++,
      fn,
      cancelled: false,
    };
    this.#timers.push(timer);
    return {
      cancel: () => {
        timer.cancelled = true;
      },
    };
  }

  /** Timers not yet fired or cancelled. */
  get pendingTimers(): number {
    return this.#timers.filter((t) => !t.cancelled).length;
  }

  /** Moves both clocks forward by `ms`, firing every timer that falls due. */
  advance(ms: number): void {
    const target = this.#monoMs + ms;
    for (;;) {
      const next = this.#nextDue(target);
      if (next === undefined) break;
      this.#timers.splice(this.#timers.indexOf(next), 1);
      this.#wallMs += next.dueMs - this.#monoMs;
      this.#monoMs = next.dueMs;
      next.fn();
    }
    this.#wallMs += target - this.#monoMs;
    this.#monoMs = target;
  }

  /**
   * Like advance, but lets I/O and promise callbacks run after each timer fires (a setImmediate
   * turn), so asynchronous work started by one timer can finish before the next is due.
   */
  async advanceAsync(ms: number): Promise<void> {
    const target = this.#monoMs + ms;
    for (;;) {
      const next = this.#nextDue(target);
      if (next === undefined) break;
      this.advance(next.dueMs - this.#monoMs);
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    this.advance(target - this.#monoMs);
  }

  /** Sets wall-clock time without moving the monotonic clock (wall clocks can jump). */
  setWallMs(ms: number): void {
    this.#wallMs = ms;
  }

  #nextDue(limit: number): Timer | undefined {
    this.#timers = this.#timers.filter((t) => !t.cancelled);
    let best: Timer | undefined;
    for (const t of this.#timers) {
      if (t.dueMs > limit) continue;
      if (
        best === undefined ||
        t.dueMs < best.dueMs ||
        (t.dueMs === best.dueMs && t.seq < best.seq)
      ) {
        best = t;
      }
    }
    return best;
  }
}
