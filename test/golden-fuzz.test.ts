/**
 * Fuzz: golden client frames and random valid encodings of every message, mutated (truncation,
 * bit flips, random bytes, huge lengths and counts, random garbage), fed to the decoders for a
 * bounded time (~3 s). A decoder may accept a mutation or throw ProtocolError; anything else
 * (RangeError, TypeError, a hang, a huge allocation) fails the test.
 *
 * Deterministic for a given seed; the seed is printed, and FUZZ_SEED=<n> replays it.
 */
import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { readRequestHeader } from '../src/protocol/headers.ts';
import { apiDescriptors } from '../src/protocol/messages/index.ts';
import { ProtocolError } from '../src/protocol/protocol-error.ts';
import { Reader } from '../src/protocol/reader.ts';
import { Writer } from '../src/protocol/writer.ts';
import {
  type Decode,
  decoderOf,
  encoderOf,
  messageArbitrary,
  messageSchemas,
  versionsOf,
} from '../tools/codegen/arbitraries.ts';
import { findRepoRoot } from '../tools/codegen/main.ts';

const TIME_BUDGET_MS = 2500;

interface Sample {
  readonly name: string;
  readonly bytes: Buffer;
  /** Decodes the whole sample (header included for frames). */
  readonly decode: (buf: Buffer) => void;
}

/** mulberry32: a small seeded PRNG, so a failure can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function decodeFrame(frame: Buffer): void {
  const info = readRequestHeader(frame);
  const api = apiDescriptors.get(info.apiKey);
  if (api !== undefined && info.apiVersion >= api.minVersion && info.apiVersion <= api.maxVersion) {
    api.decodeRequest(new Reader(frame, info.bodyOffset), info.apiVersion);
  }
}

function goldenSamples(): Sample[] {
  const dir = join(findRepoRoot(), 'test', 'fixtures', 'golden');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.bin'))
    .map((f) => ({ name: f, bytes: readFileSync(join(dir, f)).subarray(4), decode: decodeFrame }));
}

/** One random valid encoding per message at its lowest, highest and first flexible version. */
function encodedSamples(seed: number): Sample[] {
  const out: Sample[] = [];
  for (const schema of messageSchemas) {
    const versions = versionsOf(schema);
    const picks = new Set([
      versions[0],
      versions[versions.length - 1],
      schema.flexibleVersions?.[0],
    ]);
    for (const version of picks) {
      if (version === undefined || !versions.includes(version)) {
        continue;
      }
      const [value] = fc.sample(messageArbitrary(schema, version), { seed, numRuns: 1 });
      const w = new Writer();
      encoderOf(schema)(w, value, version);
      const decode: Decode = decoderOf(schema);
      out.push({
        name: `${schema.name} v${version}`,
        bytes: w.toBuffer(),
        decode: (buf) => {
          decode(new Reader(buf), version);
        },
      });
    }
  }
  return out;
}

function mutate(input: Buffer, random: () => number): Buffer {
  const pick = (n: number): number => Math.floor(random() * n);
  const buf = Buffer.from(input);
  switch (pick(6)) {
    case 0:
      return buf.subarray(0, pick(buf.length + 1));
    case 1: {
      const flips = 1 + pick(4);
      for (let i = 0; i < flips && buf.length > 0; i++) {
        const at = pick(buf.length);
        buf[at] = (buf[at] as number) ^ (1 << pick(8));
      }
      return buf;
    }
    case 2: {
      for (let i = 0; i < 1 + pick(3) && buf.length > 0; i++) {
        buf[pick(buf.length)] = pick(256);
      }
      return buf;
    }
    case 3: {
      // A huge or negative length/count at a random position.
      const values = [0x7fffffff, 0x7ffffffe, -2, -1, 0xffff, 0x10000];
      if (buf.length >= 4) {
        buf.writeInt32BE(values[pick(values.length)] as number, pick(buf.length - 3));
      }
      return buf;
    }
    case 4: {
      // A long run of varint continuation bytes, or a maximal unsigned varint.
      const at = pick(buf.length + 1);
      const run = Buffer.alloc(1 + pick(12), 0xff);
      return Buffer.concat([buf.subarray(0, at), run, buf.subarray(at)]);
    }
    default: {
      const garbage = Buffer.alloc(pick(64));
      for (let i = 0; i < garbage.length; i++) {
        garbage[i] = pick(256);
      }
      return garbage;
    }
  }
}

test('decoders throw only ProtocolError on mutated input', () => {
  const seed = Number(process.env['FUZZ_SEED'] ?? Date.now() % 2147483647);
  process.stdout.write(`fuzz seed ${seed} (replay with FUZZ_SEED=${seed})\n`);
  const random = prng(seed);
  const samples = [...goldenSamples(), ...encodedSamples(seed)];
  assert.ok(samples.length > 300, `only ${samples.length} samples`);
  for (const sample of samples) {
    sample.decode(sample.bytes);
  }
  const start = performance.now();
  let iterations = 0;
  let rejected = 0;
  while (performance.now() - start < TIME_BUDGET_MS) {
    for (let batch = 0; batch < 200; batch++) {
      const sample = samples[Math.floor(random() * samples.length)] as Sample;
      const input = mutate(sample.bytes, random);
      iterations++;
      try {
        sample.decode(input);
      } catch (error) {
        if (!(error instanceof ProtocolError)) {
          assert.fail(`${sample.name}: ${String(error)} on input ${input.toString('hex')}`);
        }
        rejected++;
      }
    }
  }
  process.stdout.write(`fuzz: ${iterations} inputs, ${rejected} rejected with ProtocolError\n`);
  assert.ok(iterations > 1000);
});
