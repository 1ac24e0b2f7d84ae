import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { crc32c } from './crc32c.ts';

test('crc32c matches the standard check value and RFC 3720 vectors', () => {
  assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
  assert.equal(crc32c(Buffer.alloc(32, 0)), 0x8a9136aa);
  assert.equal(crc32c(Buffer.alloc(32, 0xff)), 0x62a8ab43);
  const ascending = Buffer.from(Array.from({ length: 32 }, (_, i) => i));
  assert.equal(crc32c(ascending), 0x46dd794e);
});

test('crc32c of a range equals the crc of the copied range, and chains with a seed', () => {
  const buf = Buffer.from('xxhello, kafka batch bytes that run past eight bytesyy');
  const inner = buf.subarray(2, buf.length - 2);
  assert.equal(crc32c(buf, 2, buf.length - 2), crc32c(Buffer.from(inner)));
  const whole = crc32c(inner);
  const chained = crc32c(inner, 13, inner.length, crc32c(inner, 0, 13));
  assert.equal(chained, whole);
});

test('native and JavaScript CRC-32C agree on every length, offset and seed', async () => {
  const { crc32cJs, crc32cImplementation } = await import('./crc32c.ts');
  assert.ok(crc32cImplementation === 'native' || crc32cImplementation === 'js');
  const buf = Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 131 + 7) & 0xff));
  for (const [start, end] of [
    [0, 0],
    [0, 5000],
    [3, 259],
    [1, 4097],
    [255, 256],
    [100, 4999],
  ] as const) {
    assert.equal(crc32c(buf, start, end), crc32cJs(buf, start, end), `${start}..${end}`);
    assert.equal(crc32c(buf, start, end, 0x12345678), crc32cJs(buf, start, end, 0x12345678));
  }
  const seed = crc32c(buf, 0, 1000);
  assert.equal(crc32c(buf, 1000, 5000, seed), crc32c(buf));
});

test('crc32 (IEEE) matches the standard check value, zlib and the table fallback', async () => {
  const { crc32, crc32Js } = await import('./crc32.ts');
  assert.equal(crc32(Buffer.from('123456789')), 0xcbf43926);
  assert.equal(crc32Js(Buffer.from('123456789')), 0xcbf43926);
  assert.equal(crc32(Buffer.alloc(0)), 0);
  const buf = Buffer.from('xxThe quick brown fox jumps over the lazy dogyy');
  assert.equal(crc32(buf, 2, buf.length - 2), 0x414fa339);
  assert.equal(crc32Js(buf, 2, buf.length - 2), 0x414fa339);
});
