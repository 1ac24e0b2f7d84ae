import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import fc from 'fast-check';
import { ProtocolError } from './protocol-error.ts';
import { Reader } from './reader.ts';
import { Writer } from './writer.ts';

function bytesOf(write: (w: Writer) => void): Buffer {
  const w = new Writer(8);
  write(w);
  return w.toBuffer();
}

/** Reference zig-zag varlong encoding through BigInt. */
function varlongReference(value: bigint): Buffer {
  let raw = BigInt.asUintN(64, (value << 1n) ^ (value >> 63n));
  const out: number[] = [];
  while (raw > 0x7fn) {
    out.push(Number(raw & 0x7fn) | 0x80);
    raw >>= 7n;
  }
  out.push(Number(raw));
  return Buffer.from(out);
}

test('fixed-width integers round-trip at their limits', () => {
  const values = [-128, 127, -32768, 32767, 65535, -2147483648, 2147483647, 4294967295];
  const buf = bytesOf((w) => {
    w.writeInt8(values[0] as number);
    w.writeInt8(values[1] as number);
    w.writeInt16(values[2] as number);
    w.writeInt16(values[3] as number);
    w.writeUint16(values[4] as number);
    w.writeInt32(values[5] as number);
    w.writeInt32(values[6] as number);
    w.writeUint32(values[7] as number);
    w.writeBool(true);
    w.writeFloat64(-0.5);
  });
  const r = new Reader(buf);
  assert.deepEqual(
    [
      r.readInt8(),
      r.readInt8(),
      r.readInt16(),
      r.readInt16(),
      r.readUint16(),
      r.readInt32(),
      r.readInt32(),
      r.readUint32(),
      r.readBool(),
      r.readFloat64(),
    ],
    [...values, true, -0.5],
  );
  assert.equal(r.remaining(), 0);
});

test('int64: every safe integer round-trips and matches the BigInt encoding', () => {
  fc.assert(
    fc.property(fc.maxSafeInteger(), (n) => {
      const buf = bytesOf((w) => w.writeInt64(n));
      assert.equal(buf.readBigInt64BE(0), BigInt(n));
      assert.equal(new Reader(buf).readInt64(), n);
    }),
  );
});

test('int64: an unsafe value is a ProtocolError', () => {
  for (const big of [2n ** 53n, -(2n ** 53n), 2n ** 63n - 1n, -(2n ** 63n), 2n ** 60n]) {
    const buf = Buffer.alloc(8);
    buf.writeBigInt64BE(big);
    assert.throws(() => new Reader(buf).readInt64(), ProtocolError, String(big));
  }
  const edge = Buffer.alloc(8);
  edge.writeBigInt64BE(-(2n ** 53n) + 1n);
  assert.equal(new Reader(edge).readInt64(), Number.MIN_SAFE_INTEGER);
  assert.throws(() => new Writer().writeInt64(2 ** 53), RangeError);
});

test('varint and varlong match the reference zig-zag encoding', () => {
  fc.assert(
    fc.property(fc.integer({ min: -2147483648, max: 2147483647 }), (n) => {
      const buf = bytesOf((w) => w.writeVarint(n));
      assert.ok(buf.equals(varlongReference(BigInt(n))));
      assert.equal(new Reader(buf).readVarint(), n);
    }),
  );
  fc.assert(
    fc.property(fc.maxSafeInteger(), (n) => {
      const buf = bytesOf((w) => w.writeVarlong(n));
      assert.ok(buf.equals(varlongReference(BigInt(n))), `varlong ${n}`);
      const r = new Reader(buf);
      assert.equal(r.readVarlong(), n);
      assert.equal(r.remaining(), 0);
    }),
  );
  for (const n of [
    Number.MAX_SAFE_INTEGER,
    Number.MIN_SAFE_INTEGER,
    0,
    -1,
    2 ** 31,
    -(2 ** 31) - 1,
  ]) {
    assert.equal(new Reader(varlongReference(BigInt(n))).readVarlong(), n);
  }
});

test('varlong outside the safe range, or longer than 10 bytes, is a ProtocolError', () => {
  for (const big of [2n ** 53n, -(2n ** 53n), 2n ** 63n - 1n, -(2n ** 63n)]) {
    assert.throws(() => new Reader(varlongReference(big)).readVarlong(), ProtocolError);
  }
  assert.throws(() => new Reader(Buffer.alloc(11, 0x80)).readVarlong(), ProtocolError);
  assert.throws(() => new Reader(Buffer.alloc(6, 0x80)).readUnsignedVarint(), ProtocolError);
  assert.throws(() => new Reader(Buffer.from([0x80])).readUnsignedVarint(), ProtocolError);
});

test('unsigned varint: 0, 127, 128, 2^32 - 1', () => {
  for (const [n, hex] of [
    [0, '00'],
    [127, '7f'],
    [128, '8001'],
    [300, 'ac02'],
    [0xffffffff, 'ffffffff0f'],
  ] as const) {
    const buf = bytesOf((w) => w.writeUnsignedVarint(n));
    assert.equal(buf.toString('hex'), hex);
    assert.equal(new Reader(buf).readUnsignedVarint(), n);
  }
});

test("uuid uses Kafka's string form", () => {
  const zero = new Reader(Buffer.alloc(16)).readUuid();
  assert.equal(zero, 'AAAAAAAAAAAAAAAAAAAAAA');
  const raw = Buffer.from('0123456789abcdef0123456789abcdef', 'hex');
  const text = new Reader(raw).readUuid();
  assert.equal(text.length, 22);
  assert.ok(bytesOf((w) => w.writeUuid(text)).equals(raw));
  assert.throws(() => new Writer().writeUuid('not-a-uuid'), RangeError);
});

test('strings and bytes: classic and compact, null and not', () => {
  const buf = bytesOf((w) => {
    w.writeString('héllo', false);
    w.writeString('héllo', true);
    w.writeNullableString(null, false);
    w.writeNullableString(null, true);
    w.writeBytes(Buffer.from([1, 2, 3]), false);
    w.writeBytes(Buffer.from([4]), true);
    w.writeNullableBytes(null, false);
    w.writeNullableBytes(null, true);
  });
  const r = new Reader(buf);
  assert.equal(r.readString(false), 'héllo');
  assert.equal(r.readString(true), 'héllo');
  assert.equal(r.readNullableString(false), null);
  assert.equal(r.readNullableString(true), null);
  const view = r.readBytes(false);
  assert.deepEqual([...view], [1, 2, 3]);
  assert.equal(view.buffer, buf.buffer, 'bytes are a view, not a copy');
  assert.deepEqual([...r.readBytes(true)], [4]);
  assert.equal(r.readNullableBytes(false), null);
  assert.equal(r.readNullableBytes(true), null);
  assert.equal(r.remaining(), 0);
});

test('null where the schema forbids it is a ProtocolError', () => {
  assert.throws(() => new Reader(Buffer.from([0xff, 0xff])).readString(false), ProtocolError);
  assert.throws(() => new Reader(Buffer.from([0])).readString(true), ProtocolError);
  assert.throws(
    () => new Reader(Buffer.from([0xff, 0xff, 0xff, 0xff])).readBytes(false),
    ProtocolError,
  );
});

test('lengths and counts past the end are ProtocolErrors before any allocation', () => {
  assert.throws(() => new Reader(Buffer.from([0, 5, 65])).readString(false), ProtocolError);
  assert.throws(
    () => new Reader(Buffer.from([0x7f, 0xff, 0xff, 0xff])).readBytes(false),
    ProtocolError,
  );
  assert.throws(
    () => new Reader(Buffer.from([0x7f, 0xff, 0xff, 0xff])).readArrayLength(false),
    ProtocolError,
  );
  assert.throws(
    () => new Reader(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f])).readArrayLength(true),
    ProtocolError,
  );
  assert.throws(
    () => new Reader(Buffer.from([0xff, 0xff, 0xff, 0xfe])).readArrayLength(false),
    ProtocolError,
  );
  assert.equal(new Reader(Buffer.from([0xff, 0xff, 0xff, 0xff])).readArrayLength(false), -1);
  assert.equal(new Reader(Buffer.from([0])).readArrayLength(true), -1);
  assert.equal(new Reader(Buffer.from([3, 1, 2])).readArrayLength(true), 2);
});

test('every read past `end` is a ProtocolError, even inside a larger buffer', () => {
  const buf = Buffer.alloc(32, 0x01);
  const reads: ((r: Reader) => unknown)[] = [
    (r) => r.readInt8(),
    (r) => r.readInt16(),
    (r) => r.readInt32(),
    (r) => r.readInt64(),
    (r) => r.readFloat64(),
    (r) => r.readUuid(),
    (r) => r.readBool(),
    (r) => r.readRawBytes(1),
  ];
  for (const read of reads) {
    assert.throws(() => read(new Reader(buf, 4, 4)), ProtocolError);
  }
  assert.throws(() => new Reader(buf, 0, 33), RangeError);
  const r = new Reader(buf, 2, 6);
  assert.equal(r.remaining(), 4);
  r.readInt32();
  assert.equal(r.offset, 6);
});

test('unknown tagged fields are kept as views', () => {
  const buf = Buffer.from([2, 1, 2, 0xaa, 0xbb, 5, 0]);
  const r = new Reader(buf);
  const fields = r.readUnknownTaggedFields();
  assert.deepEqual(
    fields?.map((f) => [f.tag, [...f.data]]),
    [
      [1, [0xaa, 0xbb]],
      [5, []],
    ],
  );
  assert.equal(new Reader(Buffer.from([0])).readUnknownTaggedFields(), undefined);
  assert.throws(
    () => new Reader(Buffer.from([1, 1, 9, 0])).readUnknownTaggedFields(),
    ProtocolError,
  );
});
