import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { ManualClock } from '../common/manual-clock.ts';
import {
  cleanerIoRate,
  defaultLogCleanerOptions,
  HeldEventLoopUtilization,
  Throttler,
} from './log-cleaner.ts';

describe('the cleaner I/O throttle', () => {
  it('holds to the busy rate only while the event loop is busy, never above the I/O limit', () => {
    const o = { ...defaultLogCleanerOptions };
    assert.equal(o.busyEventLoopUtilization, 0.05);
    assert.equal(cleanerIoRate(o, 0.01), Number.MAX_VALUE, "Kafka's default: no limit when idle");
    assert.equal(cleanerIoRate(o, 0.05), Number.MAX_VALUE, 'at the threshold: not busy');
    assert.equal(cleanerIoRate(o, 0.6), 10_000_000);
    const capped = { ...o, ioMaxBytesPerSecond: 5_000_000 };
    assert.equal(cleanerIoRate(capped, 0.01), 5_000_000);
    assert.equal(cleanerIoRate(capped, 0.9), 5_000_000, 'the lower of the two');
    const off = { ...o, busyIoMaxBytesPerSecond: Number.MAX_VALUE };
    assert.equal(cleanerIoRate(off, 0.9), Number.MAX_VALUE);
  });

  it('sleeps as bytes run ahead of the rate, and measures a new rate from when it changed', () => {
    const clock = new ManualClock();
    const t = new Throttler(clock);
    assert.equal(t.delayFor(1_000_000, Number.MAX_VALUE), 0);
    assert.equal(t.delayFor(1e12, Number.MAX_SAFE_INTEGER), 0, 'no limit, as the config gives it');
    assert.equal(t.delayFor(500, 1_000), 500, 'half a second owed at 1000 B/s');
    clock.advance(500);
    assert.equal(t.delayFor(250, 1_000), 250);
    // Switching to 2000 B/s: what was done at 1000 B/s owes nothing to the new rate.
    assert.equal(t.delayFor(1_000, 2_000), 500);
    clock.advance(1_200);
    assert.equal(t.delayFor(100, 2_000), 0, 'behind the rate after more than a second: no wait');
  });

  it('counts the broker busy for the hold time after its busiest half second, measured all along', () => {
    const clock = new ManualClock();
    const measured = [0, 0.3, 0.02, 0.01, 0.01]; // the first call starts the first window
    let calls = 0;
    const held = new HeldEventLoopUtilization(1_000, clock, () => {
      calls++;
      return measured.shift() ?? 0;
    });
    assert.equal(held.value(), 0, 'nothing measured yet');
    held.start();
    assert.equal(calls, 1, 'the first window starts at start()');
    clock.advance(500);
    assert.equal(held.value(), 0.3);
    clock.advance(500);
    assert.equal(held.value(), 0.3, 'a quiet half second after a busy one: still busy');
    clock.advance(500);
    assert.equal(held.value(), 0.3, 'the busy window ended 1000 ms ago: within the hold');
    clock.advance(500);
    assert.equal(held.value(), 0.02, 'the busy window left the hold');
    held.stop();
    clock.advance(5_000);
    assert.equal(calls, 5, 'no measurement after stop()');
    assert.equal(held.value(), 0, 'every window left the hold');
  });
});
