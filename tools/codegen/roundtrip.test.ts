/**
 * Every (message, version) pair of the generated codecs round-trips random values: encode, then
 * decode gives back an equal value with every byte consumed, and encoding that decoded value
 * gives identical bytes. Values include nulls, tagged fields set and unset, and unknown tagged
 * fields in flexible versions.
 */
import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { Reader } from '../../src/protocol/reader.ts';
import { Writer } from '../../src/protocol/writer.ts';
import {
  decoderOf,
  encoderOf,
  messageArbitrary,
  messageSchemas,
  versionsOf,
} from './arbitraries.ts';

const RUNS_PER_VERSION = 40;

function encodeToBuffer(
  encode: (w: Writer, m: unknown, v: number) => void,
  value: unknown,
  version: number,
): Buffer {
  const w = new Writer(64);
  encode(w, value, version);
  return w.toBuffer();
}

describe('generated codecs round-trip every version', () => {
  for (const schema of messageSchemas) {
    test(schema.name, () => {
      const decode = decoderOf(schema);
      const encode = encoderOf(schema);
      for (const version of versionsOf(schema)) {
        fc.assert(
          fc.property(messageArbitrary(schema, version), (value) => {
            const bytes = encodeToBuffer(encode, value, version);
            const r = new Reader(bytes);
            const decoded = decode(r, version);
            assert.equal(r.remaining(), 0, `${schema.name} v${version}: bytes left over`);
            assert.deepStrictEqual(decoded, value);
            const again = encodeToBuffer(encode, decoded, version);
            assert.ok(again.equals(bytes), `${schema.name} v${version}: re-encoding differs`);
          }),
          { numRuns: RUNS_PER_VERSION },
        );
      }
    });
  }
});

test('messages and versions covered', () => {
  assert.equal(messageSchemas.length, 186);
  const pairs = messageSchemas.reduce((n, s) => n + versionsOf(s).length, 0);
  assert.ok(pairs >= 600, `only ${pairs} (message, version) pairs`);
});
