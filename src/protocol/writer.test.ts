import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { Reader } from './reader.ts';
import { TAG_MAX, Writer } from './writer.ts';

test('small writes coalesce into one chunk and grow past the initial capacity', () => {
  const w = new Writer(16);
  for (let i = 0; i < 1000; i++) {
    w.writeInt32(i);
  }
  const chunks = w.finish();
  assert.equal(chunks.length, 1);
  assert.equal(w.length, 4000);
  const r = new Reader(chunks[0] as Buffer);
  for (let i = 0; i < 1000; i++) {
    assert.equal(r.readInt32(), i);
  }
});

test('records are kept by reference as their own chunks', () => {
  const a = Buffer.alloc(1000, 1);
  const b = Buffer.alloc(500, 2);
  const w = new Writer(16);
  w.writeInt16(7);
  w.writeRecords([a, b], false);
  w.writeInt16(8);
  w.writeRecords(a, true);
  w.writeRecords(null, false);
  w.writeRecords(null, true);
  w.writeRecords(Buffer.alloc(0), false);
  const chunks = w.finish();
  assert.equal(chunks[1], a, 'same Buffer object, not a copy');
  assert.equal(chunks[2], b);
  assert.equal(chunks[4], a);
  const total = chunks.reduce((n, c) => n + c.length, 0);
  assert.equal(total, w.length);
  const r = new Reader(Buffer.concat(chunks));
  assert.equal(r.readInt16(), 7);
  assert.equal(r.readBytes(false).length, 1500);
  assert.equal(r.readInt16(), 8);
  assert.ok(r.readBytes(true).equals(a));
  assert.equal(r.readNullableBytes(false), null);
  assert.equal(r.readNullableBytes(true), null);
  assert.equal(r.readBytes(false).length, 0);
  assert.equal(r.remaining(), 0);
});

test('growth after a records chunk never overwrites bytes already handed over', () => {
  const w = new Writer(16);
  w.writeString('before', false);
  w.writeRecords(Buffer.alloc(3, 9), false);
  for (let i = 0; i < 100; i++) {
    w.writeInt32(i);
  }
  const r = new Reader(w.toBuffer());
  assert.equal(r.readString(false), 'before');
  assert.deepEqual([...r.readBytes(false)], [9, 9, 9]);
  for (let i = 0; i < 100; i++) {
    assert.equal(r.readInt32(), i);
  }
});

test('frame(): finishFrame patches the size prefix', () => {
  const records = Buffer.alloc(100, 3);
  const w = Writer.frame();
  w.writeInt32(42);
  w.writeRecords(records, false);
  const chunks = w.finishFrame();
  const frame = Buffer.concat(chunks);
  assert.equal(frame.readInt32BE(0), frame.length - 4);
  assert.equal(frame.readInt32BE(4), 42);
  assert.equal(chunks[1], records);
  assert.throws(() => new Writer().finishFrame());
});

test('frame of only a header', () => {
  const w = Writer.frame(4);
  w.writeInt32(1);
  const frame = Buffer.concat(w.finishFrame());
  assert.equal(frame.toString('hex'), '0000000400000001');
});

test('unknown tagged fields merge in tag order and reject collisions', () => {
  const unknown = [
    { tag: 1, data: Buffer.from([1]) },
    { tag: 4, data: Buffer.from([4]) },
  ];
  const w = new Writer();
  let u = w.writeUnknownTaggedFields(unknown, 0, 3);
  assert.equal(u, 1);
  w.writeUnsignedVarint(3);
  w.writeUnsignedVarint(0);
  u = w.writeUnknownTaggedFields(unknown, u, TAG_MAX);
  assert.equal(u, 2);
  assert.equal(w.toBuffer().toString('hex'), '010101' + '0300' + '040104');
  assert.throws(() => new Writer().writeUnknownTaggedFields(unknown, 0, 4), RangeError);
  const unsorted = [unknown[1], unknown[0]] as typeof unknown;
  assert.throws(() => new Writer().writeUnknownTaggedFields(unsorted, 0, TAG_MAX), RangeError);
});

test('encoding errors are plain Errors, not silent truncation', () => {
  assert.throws(() => new Writer().writeInt8(128), RangeError);
  assert.throws(() => new Writer().writeInt16(40000), RangeError);
  assert.throws(() => new Writer().writeUnsignedVarint(-1), RangeError);
  assert.throws(() => new Writer().writeVarint(2 ** 31), RangeError);
  assert.throws(() => new Writer().writeString('x'.repeat(40000), false), RangeError);
  const w = new Writer();
  w.writeString('x'.repeat(40000), true);
  assert.equal(new Reader(w.toBuffer()).readString(true).length, 40000);
});
