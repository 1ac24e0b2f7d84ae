/**
 * Interoperability with other implementations of the codecs: data compressed by python3's
 * snappy, lz4.frame, zstandard and gzip modules and by kafka-python's kafka.codec (xerial snappy,
 * the pre-0.10 LZ4 framing) must decompress here, and ours must decompress there. Fails, naming
 * the install command, when /usr/bin/python3 or one of its modules is missing
 * (Debian: python3-snappy python3-lz4 python3-zstandard python3-kafka; python3-xxhash for
 * kafka-python's pre-0.10 LZ4 framing).
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { before, beforeEach, describe, test } from 'node:test';
import { compress, decompress, initZstd } from './index.ts';

const PYTHON = '/usr/bin/python3';
const MODULES = 'import snappy, lz4.frame, zstandard, gzip, kafka.codec';

function pythonMissing(modules: string): string | false {
  const r = spawnSync(PYTHON, ['-c', modules], { encoding: 'utf8' });
  if (r.error !== undefined || r.status !== 0) {
    return `python3 modules missing (${(r.stderr ?? String(r.error)).trim().split('\n').pop()})`;
  }
  return false;
}

const missing = pythonMissing(MODULES);
/** kafka-python's pre-0.10 LZ4 framing needs the xxhash module (Debian: python3-xxhash). */
const missingXxhash = missing || pythonMissing('import xxhash');

/** Fails the test, naming what is missing and the install command: never a green skip. */
function requirePython(missing: string | false): void {
  if (missing !== false) {
    throw new Error(`${missing}; install the test clients with: sh scripts/install-test-deps.sh`);
  }
}

/** Runs `expr` (a function of the bytes `d`) in python3 on `input`; returns its bytes. */
function py(expr: string, input: Buffer): Buffer {
  const code = `import sys, gzip, snappy, lz4.frame, zstandard\nfrom kafka import codec\nd = sys.stdin.buffer.read()\nsys.stdout.buffer.write(${expr})`;
  const r = spawnSync(PYTHON, ['-c', code], { input, maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`python failed: ${r.stderr.toString()}`);
  return r.stdout;
}

function sample(size: number): Buffer {
  const lines: string[] = [];
  for (let i = 0; lines.length * 40 < size; i++) {
    lines.push(`{"order":${i},"sku":"SKU-${i % 311}","qty":${i % 7}}`);
  }
  return Buffer.from(lines.join('\n')).subarray(0, size);
}

const SIZES = [0, 100, 70_000, 600_000];

before(async () => {
  await initZstd();
});

describe('python-compressed data decompresses here', () => {
  beforeEach(() => requirePython(missing));

  const cases: [string, 1 | 2 | 3 | 4, string][] = [
    ['gzip', 1, 'gzip.compress(d)'],
    ['snappy raw block (librdkafka framing)', 2, 'snappy.compress(d)'],
    ['snappy xerial (kafka-python, Java)', 2, 'codec.snappy_encode(d, xerial_compatible=True)'],
    [
      'lz4 frame, linked blocks',
      3,
      'lz4.frame.compress(d, block_linked=True, content_checksum=True)',
    ],
    [
      'lz4 frame, block checksums, 4 MiB blocks',
      3,
      'lz4.frame.compress(d, block_size=lz4.frame.BLOCKSIZE_MAX4MB, block_checksum=True, store_size=True)',
    ],
    ['lz4 frame (kafka-python >= 0.10)', 3, 'codec.lz4_encode(d)'],
    ['zstd with content size', 4, 'zstandard.ZstdCompressor(level=3).compress(d)'],
    [
      'zstd without content size',
      4,
      'zstandard.ZstdCompressor(write_content_size=False, write_checksum=True).compress(d)',
    ],
    ['zstd level 19', 4, 'zstandard.ZstdCompressor(level=19).compress(d)'],
  ];
  for (const [name, codec, expr] of cases) {
    test(name, async () => {
      for (const size of SIZES) {
        const data = sample(size);
        assert.deepEqual(await decompress(codec, py(expr, data)), data, `${name} at ${size}`);
      }
    });
  }

  test('zstd streamed frame (compressobj with flush)', async () => {
    const data = sample(600_000);
    const expr =
      '(lambda o: o.compress(d) + o.flush())(zstandard.ZstdCompressor(write_content_size=False).compressobj())';
    assert.deepEqual(await decompress(4, py(expr, data)), data);
  });

  test('lz4 with the pre-0.10 header checksum (kafka-python lz4_encode_old_kafka)', async () => {
    requirePython(missingXxhash);
    for (const size of SIZES) {
      const data = sample(size);
      const old = py('codec.lz4_encode_old_kafka(d)', data);
      assert.deepEqual(await decompress(3, old, { legacyLz4: true }), data);
      assert.deepEqual(await decompress(3, old), data);
    }
  });
});

describe('data compressed here decompresses in python', () => {
  beforeEach(() => requirePython(missing));

  const cases: [string, 1 | 2 | 3 | 4, string][] = [
    ['gzip', 1, 'gzip.decompress(d)'],
    ['snappy xerial', 2, 'codec.snappy_decode(d)'],
    ['lz4 frame', 3, 'lz4.frame.decompress(d)'],
    ['zstd', 4, 'zstandard.ZstdDecompressor().decompress(d)'],
  ];
  for (const [name, codec, expr] of cases) {
    test(name, async () => {
      for (const size of SIZES) {
        const data = sample(size);
        assert.deepEqual(py(expr, await compress(codec, data)), data, `${name} at ${size}`);
      }
    });
  }

  test('lz4 for magic 0 reads with kafka-python lz4_decode_old_kafka', async () => {
    requirePython(missingXxhash);
    for (const size of SIZES) {
      const data = sample(size);
      const ours = await compress(3, data, { legacyLz4: true });
      assert.deepEqual(py('codec.lz4_decode_old_kafka(d)', ours), data);
    }
  });

  test('snappy raw block reads with python-snappy', async () => {
    const { snappyCompressBlock } = await import('./snappy.ts');
    const data = sample(200_000);
    assert.deepEqual(py('snappy.decompress(d)', snappyCompressBlock(data)), data);
  });
});
