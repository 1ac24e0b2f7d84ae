import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { ManualClock } from '../common/manual-clock.ts';
import { cleanerIoRate, defaultLogCleanerOptions, Throttler } from './log-cleaner.ts';

describe('the cleaner I/O throttle', () => {
  it('holds to the busy rate only while the event loop is busy, never above the I/O limit', () => {
    const o = { ...defaultLogCleanerOptions };
    assert.equal(cleanerIoRate(o, 0.05), Number.MAX_VALUE, "Kafka's default: no limit when idle");
    assert.equal(cleanerIoRate(o, 0.15), Number.MAX_VALUE, 'at the threshold: not busy');
    assert.equal(cleanerIoRate(o, 0.6), 20_000_000);
    const capped = { ...o, ioMaxBytesPerSecond: 5_000_000 };
    assert.equal(cleanerIoRate(capped, 0.05), 5_000_000);
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
});
