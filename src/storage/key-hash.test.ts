/**
 * MurmurHash3 x86 128 (key-hash.ts): the canonical digests of known inputs, keys hashed where
 * they lie, and a digest that behaves as a random one (spread, birthday collisions, avalanche).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { murmur3x86128 } from './key-hash.ts';

function digest(key: Uint8Array, seed = 0): string {
  const out = new Int32Array(4);
  murmur3x86128(key, 0, key.length, seed, out);
  return Buffer.from(out.buffer).toString('hex');
}

function counting(n: number, from = 0, step = 1): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (from + i * step) & 0xff);
}

/** A deterministic stream of uint32s (xorshift32). */
function xorshift(seed: number): () => number {
  let x = seed | 0;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
}

/**
 * Digests computed apart from this code, with Python's mmh3 5.3.1 (a C implementation):
 * `mmh3.hash_bytes(key, seed, x64arch=False).hex()` for seeds 0, 42 and 0xffffffff.
 */
const VECTORS: readonly (readonly [string, Uint8Array, readonly [string, string, string]])[] = [
  [
    'empty',
    new Uint8Array(0),
    [
      '00000000000000000000000000000000',
      'b62c6dafba0cc895ba0cc895ba0cc895',
      'a9081e05f7499d98f7499d98f7499d98',
    ],
  ],
  [
    'a',
    Buffer.from('a'),
    [
      '3c9394a71bb056551bb056551bb05655',
      '524f7b51c60f4694c60f4694c60f4694',
      'b124bc7808aff09008aff09008aff090',
    ],
  ],
  [
    'hello',
    Buffer.from('hello'),
    [
      'a044242bf7de91dbb631db9ab631db9a',
      '019a4f9cf6043405959b6f88959b6f88',
      '9e9a493b4b78d86c47d7012447d70124',
    ],
  ],
  [
    'key-12345',
    Buffer.from('key-12345'),
    [
      'e4bfabcfcdec69179c55ddc1818b6012',
      'a54b3c43f76c012872b8fe366dae919a',
      '2f527bd9ae1cf50a009becba5ea91372',
    ],
  ],
  [
    'the quick brown fox (43 bytes)',
    Buffer.from('The quick brown fox jumps over the lazy dog'),
    [
      'c383152f672ceeec6cf67b5d2c1de9e5',
      '199cc6b0c795fdb1bd46c704eccf4fb6',
      '8ac6f8792dae2c07464a07dae4dbc7c7',
    ],
  ],
  [
    'bytes 0-14',
    counting(15),
    [
      '599c7b75cae4a6624edbe261665577ca',
      '0aaa96d5a11feb9a547e429072ab875a',
      '4d2679cf951a3efbeeb3ab06b0550d19',
    ],
  ],
  [
    'bytes 0-15',
    counting(16),
    [
      '25c8256cee809155748053eaef5ba589',
      'c1ebad5f6e92e3723c06fe259b41c0d6',
      '5323874feee8fd3fef3c590cb5cb76d2',
    ],
  ],
  [
    'bytes 0-16',
    counting(17),
    [
      'db9cc96a0b949c35ad7316ae51ab75a2',
      '9ae192c37ca3545abf95a1c06baf2934',
      'bcc339b39f0f3a7693c2fdada57d2d13',
    ],
  ],
  [
    'bytes 0-30',
    counting(31),
    [
      'ee92ab24ca891dac18bcf545a3ddd59a',
      'fb01032aa3144872fa126b90fcee6b02',
      '92e05e85b08b5a82944b81198e04c1b2',
    ],
  ],
  [
    'bytes 0-31',
    counting(32),
    [
      'fd6ab1d6805779a47575bdb7ce89df97',
      '1bd34a243c579018a42325f0aef7555c',
      '19b904331f6fd5c03876e829cb9be756',
    ],
  ],
  [
    'bytes 0-32',
    counting(33),
    [
      'ba15de503691f97670b6e72081c70d22',
      'ff094950aa21b4a649773353deb0636d',
      'adfe1d29aab92744943873c48eb4c732',
    ],
  ],
  [
    'bytes 255 down to 1',
    counting(255, 255, -1),
    [
      'e378b60eb8719c25eb943805d5e7cfec',
      'e56578a37b0fcd328a98449ade8c5dce',
      '3e4ea1be0652449000a0c46539b64909',
    ],
  ],
];

describe('key hash: MurmurHash3 x86 128', () => {
  it('gives the canonical digests (computed with Python mmh3)', () => {
    for (const [name, key, want] of VECTORS) {
      assert.equal(digest(key, 0), want[0], `${name}, seed 0`);
      assert.equal(digest(key, 42), want[1], `${name}, seed 42`);
      assert.equal(digest(key, 0xffffffff), want[2], `${name}, seed 0xffffffff`);
    }
  });

  it('hashes a range where it lies as it hashes a copy of it', () => {
    const next = xorshift(7);
    const buf = Uint8Array.from({ length: 300 }, () => next() & 0xff);
    const out = new Int32Array(4);
    for (let start = 0; start < 40; start += 3) {
      for (let len = 0; len <= 70; len++) {
        murmur3x86128(buf, start, start + len, 0, out);
        const inPlace = Buffer.from(out.buffer).toString('hex');
        assert.equal(inPlace, digest(buf.slice(start, start + len)), `at ${start}, ${len} bytes`);
      }
    }
  });

  it('spreads keys evenly over the slots its first word picks', () => {
    // 102,400 keys `key-N` over 1,024 buckets: chi-square with 1,023 degrees of freedom has a
    // mean of 1,023 and a standard deviation of 45; 1,300 is six deviations above.
    const out = new Int32Array(4);
    const buckets = 1024;
    const counts = [new Uint32Array(buckets), new Uint32Array(buckets), new Uint32Array(buckets)];
    const bump = (n: number, b: number) => {
      const c = counts[n] as Uint32Array;
      c[b] = (c[b] as number) + 1;
    };
    const keys = 102_400;
    for (let i = 0; i < keys; i++) {
      const key = Buffer.from(`key-${i}`);
      murmur3x86128(key, 0, key.length, 0, out);
      const w = out[0] as number;
      // By the first word modulo a size that is not a power of two (as the offset map does),
      // by its low and by its high bits.
      bump(0, (w >>> 0) % 1021);
      bump(1, w & (buckets - 1));
      bump(2, w >>> 22);
    }
    for (const [n, c] of counts.entries()) {
      const used = n === 0 ? 1021 : buckets;
      const expected = keys / used;
      let chi = 0;
      for (let b = 0; b < used; b++) chi += ((c[b] as number) - expected) ** 2 / expected;
      assert.ok(chi < 1300, `chi-square ${chi.toFixed(0)} for spread ${n}`);
    }
  });

  it('collides no more than a random digest would', () => {
    // 200,000 keys: no two share a digest. Cut to 24 bits, each word collides about as often
    // as 24 random bits do: n(n-1)/2 / 2^24 = 11.9 pairs for n = 20,000 (Poisson; below 1 or
    // above 35 has a chance under 1e-5).
    const out = new Int32Array(4);
    const seen = new Set<string>();
    const next = xorshift(99);
    for (let i = 0; i < 200_000; i++) {
      const key = i % 2 === 0 ? Buffer.from(`user-${i}`) : Buffer.alloc(24 + (i % 17));
      if (i % 2 === 1) for (let j = 0; j < key.length; j++) key[j] = next() & 0xff;
      murmur3x86128(key, 0, key.length, 0, out);
      seen.add(`${out[0]},${out[1]},${out[2]},${out[3]}`);
    }
    assert.equal(seen.size, 200_000);
    for (let word = 0; word < 4; word++) {
      const seen24 = new Map<number, number>();
      let pairs = 0;
      for (let i = 0; i < 20_000; i++) {
        const key = Buffer.from(`order:${i}:eu-west`);
        murmur3x86128(key, 0, key.length, 0, out);
        const v = (out[word] as number) & 0xffffff;
        const before = seen24.get(v) ?? 0;
        pairs += before;
        seen24.set(v, before + 1);
      }
      assert.ok(pairs >= 1 && pairs <= 35, `word ${word}: ${pairs} pairs in 24 bits`);
    }
  });

  it('never collides between keys of up to 16 bytes of the same length (all 2-byte keys)', () => {
    const out = new Int32Array(4);
    const seen = new Set<string>();
    const key = new Uint8Array(2);
    for (let v = 0; v < 65536; v++) {
      key[0] = v & 0xff;
      key[1] = v >>> 8;
      murmur3x86128(key, 0, 2, 0, out);
      seen.add(`${out[0]},${out[1]},${out[2]},${out[3]}`);
    }
    assert.equal(seen.size, 65536);
  });

  it('flips about half of the digest when one bit of the key flips (avalanche)', () => {
    // Over 300 keys of 20 bytes and each of their 160 bits: every one of the 128 output bits
    // flips with a probability near 1/2 (48,000 trials a bit: 0.45-0.55 is 22 deviations).
    const next = xorshift(12345);
    const out = new Int32Array(4);
    const flipped = new Int32Array(4);
    const flips = new Uint32Array(128);
    let trials = 0;
    for (let k = 0; k < 300; k++) {
      const key = Uint8Array.from({ length: 20 }, () => next() & 0xff);
      murmur3x86128(key, 0, key.length, 0, out);
      for (let bit = 0; bit < 160; bit++) {
        key[bit >>> 3] = (key[bit >>> 3] as number) ^ (1 << (bit & 7));
        murmur3x86128(key, 0, key.length, 0, flipped);
        key[bit >>> 3] = (key[bit >>> 3] as number) ^ (1 << (bit & 7));
        for (let o = 0; o < 128; o++) {
          const diff = (out[o >>> 5] as number) ^ (flipped[o >>> 5] as number);
          if ((diff >>> (o & 31)) & 1) flips[o] = (flips[o] as number) + 1;
        }
        trials++;
      }
    }
    for (let o = 0; o < 128; o++) {
      const p = (flips[o] as number) / trials;
      assert.ok(p > 0.45 && p < 0.55, `output bit ${o} flips with probability ${p.toFixed(3)}`);
    }
  });
});
