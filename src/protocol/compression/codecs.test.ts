import { strict as assert } from 'node:assert';
import { before, describe, test } from 'node:test';
import fc from 'fast-check';
import { CorruptRecordError, UnsupportedCompressionError } from '../records/errors.ts';
import {
  type Codec,
  compress,
  compressSync,
  decompress,
  decompressSync,
  initZstd,
  toCodec,
} from './index.ts';
import { lz4Compress, lz4Decompress } from './lz4.ts';
import { snappyCompressBlock, snappyDecompress } from './snappy.ts';
import { xxhash32 } from './xxhash32.ts';
import { zstdFrames } from './zstd.ts';

const CODECS: readonly Codec[] = [0, 1, 2, 3, 4];

/** JSON-ish records: what a real batch body looks like (repetitive, compressible). */
export function realisticPayload(bytes: number, seed = 1): Buffer {
  const parts: string[] = [];
  let size = 0;
  let x = seed;
  while (size < bytes) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    const line = `{"id":${x % 100000},"user":"user-${x % 977}","event":"${['click', 'view', 'buy'][x % 3]}","ts":${1700000000000 + (x % 86400000)}}\n`;
    parts.push(line);
    size += line.length;
  }
  return Buffer.from(parts.join('')).subarray(0, bytes);
}

before(async () => {
  await initZstd();
});

describe('xxhash32', () => {
  test('matches the reference implementation', () => {
    assert.equal(xxhash32(Buffer.alloc(0)), 0x02cc5d05);
    assert.equal(xxhash32(Buffer.from('abc')), 0x32d153ff);
    const ascending = Buffer.from(Array.from({ length: 100 }, (_, i) => i));
    assert.equal(xxhash32(ascending, 0, 100, 7), 0xaa1c3769);
    assert.equal(xxhash32(Buffer.from('Nobody inspects the spammish repetition')), 0xe2293b2f);
  });
});

describe('round trips', () => {
  for (const codec of CODECS) {
    test(`codec ${codec}: arbitrary bytes, sync and async`, async () => {
      await fc.assert(
        fc.asyncProperty(fc.uint8Array({ maxLength: 5000 }), async (arr) => {
          const data = Buffer.from(arr);
          const c = await compress(codec, data);
          assert.deepEqual(await decompress(codec, c), data);
          assert.deepEqual(decompressSync(codec, compressSync(codec, data)), data);
        }),
        { numRuns: 60 },
      );
    });

    test(`codec ${codec}: repetitive input with long matches`, async () => {
      const word = fc.constantFrom('kafka', 'tributary', 'a', 'zz', '{"k":1}', '\u00e9t\u00e9');
      await fc.assert(
        fc.asyncProperty(fc.array(word, { maxLength: 3000 }), fc.nat(300), async (words, n) => {
          const data = Buffer.concat([Buffer.from(words.join('')), Buffer.alloc(n, 7)]);
          assert.deepEqual(await decompress(codec, await compress(codec, data)), data);
        }),
        { numRuns: 40 },
      );
    });

    test(`codec ${codec}: 1 MiB of records, and sizes around block boundaries`, async () => {
      for (const size of [0, 1, 13, 65535, 65536, 65537, 1 << 20]) {
        const data = realisticPayload(size, size + 3);
        const c = await compress(codec, data);
        assert.deepEqual(await decompress(codec, c), data, `size ${size}`);
        if (codec !== 0 && size === 1 << 20) assert.ok(c.length < size / 2, `ratio at ${size}`);
      }
    });
  }
});

describe('bounds', () => {
  const big = Buffer.alloc(1 << 20, 0x61);
  for (const codec of [1, 2, 3, 4] as const) {
    test(`codec ${codec}: output over maxDecompressedBytes throws CorruptRecordError`, async () => {
      const c = await compress(codec, big);
      await assert.rejects(
        decompress(codec, c, { maxDecompressedBytes: 1000 }),
        CorruptRecordError,
      );
      assert.throws(
        () => decompressSync(codec, c, { maxDecompressedBytes: 1000 }),
        /exceeds|limit/,
      );
      assert.equal(
        (await decompress(codec, c, { maxDecompressedBytes: big.length })).length,
        big.length,
      );
    });
  }

  test('snappy preamble claiming 4 GiB is refused before allocating', () => {
    const hostile = Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x00]);
    assert.throws(() => snappyDecompress(hostile, 1 << 20), /exceeds the limit/);
  });

  test('zstd frame header claiming 1 TiB is refused before allocating', () => {
    const frame = compressSync(4, Buffer.from('hello hello hello'));
    // Rewrite the header as FCS_flag 3 (8-byte content size), single segment.
    const hostile = Buffer.concat([
      frame.subarray(0, 4),
      Buffer.from([0xe0]),
      Buffer.from([0, 0, 0, 0, 0, 1, 0, 0]),
      frame.subarray(6),
    ]);
    assert.throws(
      () => decompressSync(4, hostile, { maxDecompressedBytes: 1 << 20 }),
      CorruptRecordError,
    );
  });

  test('zstd bound from block headers when the frame has no content size', () => {
    const frame = compressSync(4, realisticPayload(300_000));
    const frames = zstdFrames(frame);
    assert.equal(frames.length, 1);
    assert.equal(frames[0]?.exact, true);
    assert.equal(frames[0]?.bound, 300_000);
  });
});

describe('framings', () => {
  test('snappy: raw blocks and xerial framing both decode; xerial is written', () => {
    const data = realisticPayload(100_000);
    const raw = snappyCompressBlock(data);
    assert.deepEqual(snappyDecompress(raw, 1 << 20), data);
    const xerial = compressSync(2, data);
    assert.deepEqual(xerial.subarray(0, 8), Buffer.from('82534e4150505900', 'hex'));
    assert.equal(xerial.readInt32BE(8), 1);
    assert.equal(xerial.readInt32BE(12), 1);
    assert.deepEqual(snappyDecompress(xerial, 1 << 20), data);
  });

  test('snappy: known raw encoding (literal then copy)', () => {
    // "abcdabcdabcd": length 12, literal "abcd", copy offset 4 length 8.
    const enc = Buffer.from([12, 3 << 2, 0x61, 0x62, 0x63, 0x64, 1 | ((8 - 4) << 2), 4]);
    assert.equal(snappyDecompress(enc, 100).toString(), 'abcdabcdabcd');
  });

  test('lz4: pre-0.10 descriptor checksum written for legacy, accepted on read', () => {
    const data = realisticPayload(70_000);
    const legacy = compressSync(3, data, { legacyLz4: true });
    const modern = compressSync(3, data);
    assert.notEqual(legacy[6], modern[6]);
    assert.equal(legacy[6], (xxhash32(legacy, 0, 6) >>> 8) & 0xff);
    assert.equal(modern[6], (xxhash32(modern, 4, 6) >>> 8) & 0xff);
    assert.deepEqual(decompressSync(3, legacy), data);
    assert.deepEqual(decompressSync(3, legacy, { legacyLz4: true }), data);
    const bad = Buffer.from(modern);
    bad[6] = (bad[6] as number) ^ 0x55;
    assert.throws(() => lz4Decompress(bad, 1 << 20), /descriptor checksum/);
    assert.deepEqual(lz4Decompress(bad, 1 << 20, { ignoreDescriptorChecksum: true }), data);
  });

  test('lz4: content checksum is verified', () => {
    const data = realisticPayload(1000);
    const frame = lz4Compress(data, { contentChecksum: true });
    const bad = Buffer.from(frame);
    bad[bad.length - 1] = (bad[bad.length - 1] as number) ^ 1;
    assert.throws(() => lz4Decompress(bad, 1 << 20), /content checksum/);
  });

  test('unknown codecs are UnsupportedCompressionError', () => {
    assert.throws(() => toCodec(5), UnsupportedCompressionError);
    assert.throws(() => toCodec(7), UnsupportedCompressionError);
    assert.equal(toCodec(4), 4);
  });

  test('garbage is CorruptRecordError for every codec', async () => {
    const garbage = Buffer.from('this is not compressed data at all, not even close');
    for (const codec of [1, 2, 3, 4] as const) {
      await assert.rejects(decompress(codec, garbage), CorruptRecordError, `codec ${codec}`);
      await assert.rejects(decompress(codec, Buffer.alloc(0)), CorruptRecordError);
    }
  });
});

describe('worker offload of large jobs', () => {
  const big = realisticPayload(3 << 20, 11);

  test('async results equal the inline results for snappy, lz4 and zstd', async () => {
    for (const codec of [2, 3, 4] as const) {
      const viaWorker = await compress(codec, big);
      assert.deepEqual(await decompress(codec, viaWorker), big);
      assert.deepEqual(decompressSync(codec, viaWorker), big);
      if (codec !== 4) assert.deepEqual(viaWorker, compressSync(codec, big));
    }
  });

  test('errors and bounds come back as CorruptRecordError', async () => {
    for (const codec of [2, 3, 4] as const) {
      const c = compressSync(codec, big);
      await assert.rejects(
        decompress(codec, c, { maxDecompressedBytes: 1 << 20 }),
        CorruptRecordError,
      );
      const garbage = Buffer.from(c);
      garbage.fill(0x5a, 0, 64 * 1024);
      await assert.rejects(decompress(codec, garbage), CorruptRecordError);
    }
  });

  test('concurrent jobs all resolve, and an idle worker does not keep a process alive', async () => {
    const jobs = [2, 3, 4, 2, 3, 4].map((codec) =>
      compress(codec as Codec, big).then((c) => decompress(codec as Codec, c)),
    );
    for (const out of await Promise.all(jobs)) assert.deepEqual(out, big);
    const { spawnSync } = await import('node:child_process');
    const url = new URL('./index.js', import.meta.url).href;
    const script = `(async () => {
      const m = await import(${JSON.stringify(url)});
      const d = Buffer.alloc(2 << 20, 1);
      const c = await m.compress(3, d);
      console.log((await m.decompress(3, c)).length);
    })();`;
    const { NODE_TEST_CONTEXT: _, ...env } = process.env;
    const r = spawnSync(process.execPath, ['-e', script], {
      env,
      encoding: 'utf8',
      timeout: 20_000,
    });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), String(2 << 20));
  });

  test('without a worker file (a TypeScript loader, a bundle) large jobs run inline', async () => {
    const { cpSync, mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { fileURLToPath } = await import('node:url');
    const { spawnSync } = await import('node:child_process');
    const compiledSrc = fileURLToPath(new URL('../../', import.meta.url));
    const dir = mkdtempSync(join(tmpdir(), 'tributary-offload-'));
    try {
      cpSync(compiledSrc, join(dir, 'src'), { recursive: true });
      rmSync(join(dir, 'src', 'protocol', 'compression', 'offload-worker.js'));
      const url = new URL(`file://${join(dir, 'src', 'protocol', 'compression', 'index.js')}`).href;
      const script = `(async () => {
        const m = await import(${JSON.stringify(url)});
        const d = Buffer.alloc(3 << 20, 7);
        const c = await m.compress(2, d);
        const back = await m.decompress(2, c);
        let bad = 'none';
        try { await m.decompress(2, c, { maxDecompressedBytes: 1000 }); } catch (e) { bad = e.name; }
        console.log(back.length, bad);
      })();`;
      const { NODE_TEST_CONTEXT: _, ...env } = process.env;
      const r = spawnSync(process.execPath, ['-e', script], {
        env,
        encoding: 'utf8',
        timeout: 20_000,
      });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout.trim(), `${3 << 20} CorruptRecordError`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
