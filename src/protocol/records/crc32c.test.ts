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
