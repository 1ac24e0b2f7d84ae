import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { FrameReader, FrameTooLargeError, SCRATCH_BYTES } from './frame-reader.ts';

function framed(bodies: readonly Buffer[]): Buffer {
  const parts: Buffer[] = [];
  for (const b of bodies) {
    const size = Buffer.alloc(4);
    size.writeInt32BE(b.length, 0);
    parts.push(size, b);
  }
  return Buffer.concat(parts);
}

/**
 * Feeds a stream the way a socket does: every read goes into the buffer the reader asks for,
 * and a read is at most `readSizes[i]` bytes (cycled) and at most that buffer's length.
 */
function readAll(reader: FrameReader, stream: Buffer, readSizes: readonly number[]): Buffer[] {
  const frames: Buffer[] = [];
  let at = 0;
  let i = 0;
  while (at < stream.length) {
    const target = reader.nextBuffer();
    const want = readSizes[i++ % readSizes.length] as number;
    const n = Math.min(want, target.length, stream.length - at);
    stream.copy(target, 0, at, at + n);
    at += n;
    frames.push(...reader.consume(target, n));
  }
  return frames;
}

const bodiesArb = fc.array(
  fc.oneof(
    fc.uint8Array({ maxLength: 64 }),
    fc.uint8Array({ minLength: 10_000, maxLength: 200_000 }),
  ),
  { maxLength: 12 },
);

test('frames come out whole and in order however the reads split them', () => {
  fc.assert(
    fc.property(
      bodiesArb,
      fc.array(fc.integer({ min: 1, max: 100_000 }), { minLength: 1, maxLength: 8 }),
      fc.integer({ min: 16 * 1024, max: 300_000 }),
      (raw, readSizes, pieceBytes) => {
        const bodies = raw.map((u) => Buffer.from(u));
        const reader = new FrameReader(1 << 20, pieceBytes);
        const frames = readAll(reader, framed(bodies), readSizes);
        assert.equal(frames.length, bodies.length);
        for (const [i, f] of frames.entries())
          assert.ok(f.equals(bodies[i] as Buffer), `frame ${i}`);
        assert.equal(reader.bufferedBytes, 0);
      },
    ),
    { numRuns: 200 },
  );
});

test('frames survive the shared scratch buffer being reused by another reader', () => {
  const a = new FrameReader(1 << 20);
  const b = new FrameReader(1 << 20);
  const fa = framed([Buffer.from('first frame of a')]);
  const fb = framed([Buffer.from('frame of b')]);
  const ta = a.nextBuffer();
  fa.copy(ta);
  const out = a.consume(ta, fa.length);
  const tb = b.nextBuffer();
  assert.equal(ta, tb, 'one scratch buffer is shared');
  fb.copy(tb);
  b.consume(tb, fb.length);
  assert.equal(out[0]?.toString(), 'first frame of a');
});

test('the large part of a large frame is read straight into the frame', () => {
  const reader = new FrameReader(1 << 20);
  const body = Buffer.alloc(500_000, 7);
  const stream = framed([body]);
  const first = reader.nextBuffer();
  assert.equal(first.length, SCRATCH_BYTES);
  stream.copy(first, 0, 0, 1000);
  assert.deepEqual(reader.consume(first, 1000), []);
  const direct = reader.nextBuffer();
  assert.equal(direct.length, 500_000 - 996, 'the missing part of the frame');
  stream.copy(direct, 0, 1000);
  const [frame] = reader.consume(direct, stream.length - 1000);
  assert.ok(frame?.equals(body));
  assert.equal(frame?.buffer, direct.buffer, 'no copy of the direct part');
});

test('an empty frame, and a size split across reads', () => {
  const reader = new FrameReader(100);
  assert.deepEqual(reader.push(Buffer.from([0, 0])), []);
  assert.equal(reader.bufferedBytes, 2);
  const frames = reader.push(Buffer.from([0, 0, 0, 0, 0, 1, 42]));
  assert.equal(frames.length, 2);
  assert.equal(frames[0]?.length, 0);
  assert.deepEqual([...(frames[1] as Buffer)], [42]);
});

test('a size above the limit or below zero is refused before anything is allocated', () => {
  const reader = new FrameReader(1000);
  const big = Buffer.alloc(4);
  big.writeInt32BE(1001, 0);
  assert.throws(() => reader.push(big), FrameTooLargeError);
  const negative = Buffer.alloc(4);
  negative.writeInt32BE(-1, 0);
  assert.throws(() => new FrameReader(1000).push(negative), FrameTooLargeError);
});

test('a huge announced frame allocates only as its bytes arrive', () => {
  const reader = new FrameReader(100 << 20, 1 << 20);
  const head = Buffer.alloc(4 + 10);
  head.writeInt32BE(90 << 20, 0);
  reader.push(head);
  const next = reader.nextBuffer();
  assert.ok(next.length <= 1 << 20, `next read buffer ${next.length} bytes`);
  assert.equal(reader.bufferedBytes, 10);
});
