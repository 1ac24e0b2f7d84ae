/**
 * Fuzzing the decoders: random and mutated inputs to every decompressor, the batch reader, the
 * legacy parser, the record-set walker and the down-converter. Each must either succeed or throw
 * CorruptRecordError / UnsupportedCompressionError, never anything else, and fast. Seeded, so a
 * failure prints the seed that reproduces it (FUZZ_SEED=... to replay).
 */
import { strict as assert } from 'node:assert';
import { before, test } from 'node:test';
import { type Codec, compressSync, decompressSync, initZstd } from '../compression/index.ts';
import { batchPositions, buildRecordBatchSync, readRecordBatchSync } from './batch-builder.ts';
import { CorruptRecordError, UnsupportedCompressionError } from './errors.ts';
import { buildMessageSetSync, parseMessageSetSync, recordBatchesToMessageSet } from './legacy.ts';

const SEED = Number(process.env['FUZZ_SEED'] ?? Date.now() % 1_000_000);
const ITERATIONS = 1500;
/**
 * A bound that catches pathological inputs (a decompression bomb, a quadratic path) without
 * failing on a shared CI machine: quiet, the slowest input takes under 40 ms (a GC pause or a
 * 4 MiB buffer for a zstd frame without a content size); under load average 12 it took 270 ms.
 */
const SLOW_MS = 2000;
const MAX_OUT = 4 << 20;

function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 0x1_0000_0000;
  };
}

function mutate(seed: Buffer, rand: () => number): Buffer {
  const pick = Math.floor(rand() * 5);
  const int = (n: number) => Math.floor(rand() * n);
  if (pick === 0 || seed.length === 0) {
    return Buffer.from(Array.from({ length: int(300) }, () => int(256)));
  }
  const out = Buffer.from(seed);
  if (pick === 1) return out.subarray(0, int(out.length));
  if (pick === 2) {
    for (let i = 0, n = 1 + int(4); i < n; i++) out[int(out.length)] = int(256);
    return out;
  }
  if (pick === 3) {
    const at = int(out.length);
    return Buffer.concat([
      out.subarray(0, at),
      Buffer.from([int(256), int(256)]),
      out.subarray(at),
    ]);
  }
  // Set a 32-bit field to an extreme value (lengths, counts, sizes).
  const at = int(Math.max(1, out.length - 4));
  if (at + 4 <= out.length) out.writeInt32BE([0x7fffffff, -1, -2, 0x10000][int(4)] as number, at);
  return out;
}

function expectOnlyOurErrors(what: string, fn: () => unknown): number {
  const t0 = performance.now();
  try {
    fn();
  } catch (e) {
    if (!(e instanceof CorruptRecordError || e instanceof UnsupportedCompressionError)) {
      assert.fail(`${what} (FUZZ_SEED=${SEED}) threw ${String(e)}`);
    }
  }
  return performance.now() - t0;
}

async function expectOnlyOurErrorsAsync(what: string, fn: () => Promise<unknown>): Promise<void> {
  try {
    await fn();
  } catch (e) {
    if (!(e instanceof CorruptRecordError || e instanceof UnsupportedCompressionError)) {
      assert.fail(`${what} (FUZZ_SEED=${SEED}) threw ${String(e)}`);
    }
  }
}

const TEXT = Buffer.from(
  Array.from({ length: 400 }, (_, i) => `{"k":${i % 17},"v":"item-${i % 31}"}`).join(','),
);
const RECORDS = Array.from({ length: 12 }, (_, i) => ({
  key: i % 3 === 0 ? null : Buffer.from(`k${i}`),
  value: TEXT.subarray(i * 50, i * 50 + 200),
  headers: [{ key: 'h', value: Buffer.from([i]) }],
  timestamp: 1_000 + i,
}));

before(async () => {
  await initZstd();
});

test(`decompressors accept garbage only as CorruptRecordError (seed ${SEED})`, () => {
  const rand = rng(SEED);
  let slowest = 0;
  for (const codec of [1, 2, 3, 4] as Codec[]) {
    const seeds = [compressSync(codec, TEXT), compressSync(codec, Buffer.alloc(0))];
    if (codec === 3) seeds.push(compressSync(3, TEXT, { legacyLz4: true }));
    for (let i = 0; i < ITERATIONS; i++) {
      const input = mutate(seeds[i % seeds.length] as Buffer, rand);
      const ms = expectOnlyOurErrors(`codec ${codec}`, () =>
        decompressSync(codec, input, { maxDecompressedBytes: MAX_OUT }),
      );
      slowest = Math.max(slowest, ms);
    }
  }
  assert.ok(slowest < SLOW_MS, `slowest input took ${slowest} ms`);
});

test(`batch reader and record-set walker (seed ${SEED})`, () => {
  const rand = rng(SEED + 1);
  const seeds = ([0, 1, 2, 3, 4] as Codec[]).map((compression) =>
    buildRecordBatchSync({ baseOffset: 10, records: RECORDS, compression, producerId: 3 }),
  );
  let slowest = 0;
  for (let i = 0; i < ITERATIONS * 2; i++) {
    const input = mutate(seeds[i % seeds.length] as Buffer, rand);
    for (const verifyCrc of [false, true]) {
      const ms = expectOnlyOurErrors('readRecordBatchSync', () =>
        readRecordBatchSync(input, 0, { verifyCrc, maxDecompressedBytes: MAX_OUT }),
      );
      slowest = Math.max(slowest, ms);
    }
    expectOnlyOurErrors('batchPositions', () => batchPositions(input));
  }
  assert.ok(slowest < SLOW_MS, `slowest input took ${slowest} ms`);
});

test(`legacy parser and down-converter (seed ${SEED})`, async () => {
  const rand = rng(SEED + 2);
  const legacySeeds = ([0, 1, 2, 3] as Codec[]).flatMap((codec) =>
    ([0, 1] as const).map((magic) => buildMessageSetSync(RECORDS, { magic, codec, baseOffset: 5 })),
  );
  let slowest = 0;
  for (let i = 0; i < ITERATIONS * 2; i++) {
    const input = mutate(legacySeeds[i % legacySeeds.length] as Buffer, rand);
    for (const verifyCrc of [false, true]) {
      const ms = expectOnlyOurErrors('parseMessageSetSync', () =>
        parseMessageSetSync(input, { verifyCrc, maxDecompressedBytes: MAX_OUT }),
      );
      slowest = Math.max(slowest, ms);
    }
  }
  const v2Seeds = ([0, 1, 2, 3] as Codec[]).map((compression) =>
    buildRecordBatchSync({ records: RECORDS, compression }),
  );
  for (let i = 0; i < 400; i++) {
    const input = mutate(v2Seeds[i % v2Seeds.length] as Buffer, rand);
    await expectOnlyOurErrorsAsync('recordBatchesToMessageSet', () =>
      recordBatchesToMessageSet(input, (i % 2) as 0 | 1, { maxDecompressedBytes: MAX_OUT }),
    );
  }
  assert.ok(slowest < SLOW_MS, `slowest input took ${slowest} ms`);
});
