import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ReadBufferPool } from './read-buffers.ts';

test('a released buffer is reused, never one still leased', () => {
  const pool = new ReadBufferPool(8 << 20);
  const a = pool.lease();
  const first = a.alloc(100_000);
  assert.equal(first.length, 100_000);
  const b = pool.lease();
  const second = b.alloc(100_000);
  assert.notEqual(second.buffer, first.buffer, 'a leased buffer is not handed out twice');
  a.release();
  a.release();
  const c = pool.lease();
  assert.equal(c.alloc(70_000).buffer, first.buffer, 'same size class, reused');
  assert.deepEqual(pool.stats.reused, 1);
  assert.throws(() => a.alloc(10), /after release/);
});

test('idle buffers are kept up to the budget; huge reads are plain allocations', () => {
  const pool = new ReadBufferPool(1 << 20);
  const leases = [pool.lease(), pool.lease()];
  for (const l of leases) l.alloc(600_000);
  for (const l of leases) l.release();
  assert.equal(pool.stats.idleBytes, 1 << 20, 'one 1 MiB buffer kept, the other dropped');
  const big = pool.lease();
  assert.equal(big.alloc(32 << 20).length, 32 << 20);
  big.release();
  assert.equal(pool.stats.idleBytes, 1 << 20);
  const none = new ReadBufferPool(0).lease();
  assert.equal(none.alloc(1000).length, 1000);
});
