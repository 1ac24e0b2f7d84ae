/**
 * The pieces of the network fuzz tests (test/network-fuzz*.test.ts): a seeded generator, a corpus
 * of valid request frames (one default request per supported API version, and real clients'
 * captured frames), and mutations of them.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { apiDescriptors } from '../protocol/messages/api-table.ts';
import * as messages from '../protocol/messages/index.ts';
import { Writer } from '../protocol/writer.ts';
import { repoRoot } from './broker-process.ts';

/** A small deterministic generator (xorshift32), so a failure can be replayed from its seed. */
export function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x1_0000_0000;
  };
}

export function encodeFrame(apiKey: number, version: number, body: unknown): Buffer {
  const desc = apiDescriptors.get(apiKey);
  if (desc === undefined) throw new Error('unknown api');
  const w = Writer.frame();
  w.writeInt16(apiKey);
  w.writeInt16(version);
  w.writeInt32(7);
  const hv = desc.requestHeaderVersion(version);
  if (hv >= 1) w.writeNullableString('fuzz', false);
  if (hv >= 2) w.writeUnsignedVarint(0);
  desc.encodeRequest(w, body, version);
  return Buffer.concat(w.finishFrame()).subarray(4);
}

/** One default request per supported (api, version), and the golden frames of real clients. */
export function seeds(
  supported: readonly { apiKey: number; minVersion: number; maxVersion: number }[],
) {
  const out: Buffer[] = [];
  const factories = messages as unknown as Record<string, (() => unknown) | undefined>;
  for (const range of supported) {
    const name = apiDescriptors.get(range.apiKey)?.name ?? '';
    const make = factories[`default${name}Request`];
    if (make === undefined) continue;
    for (let v = range.minVersion; v <= range.maxVersion; v++) {
      try {
        out.push(encodeFrame(range.apiKey, v, make()));
      } catch {
        // A default that a version cannot carry is simply not a seed.
      }
    }
  }
  const dir = join(repoRoot(), 'test', 'fixtures', 'golden');
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as {
    file: string;
  }[];
  for (const m of manifest) out.push(readFileSync(join(dir, m.file)));
  return out;
}

export function mutate(seed: Buffer, rnd: () => number): Buffer {
  const b = Buffer.from(seed);
  const kind = Math.floor(rnd() * 5);
  if (kind === 0) return b.subarray(0, Math.floor(rnd() * b.length));
  if (kind === 1) {
    for (let i = 0; i < 1 + rnd() * 4; i++)
      b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256);
    return b;
  }
  if (kind === 2 && b.length > 12) {
    const at = 8 + Math.floor(rnd() * (b.length - 12));
    b.writeInt32BE(Math.floor(rnd() * 0x7fffffff) * (rnd() < 0.5 ? -1 : 1), at);
    return b;
  }
  if (kind === 3)
    return Buffer.concat([
      b,
      Buffer.from(Array.from({ length: 16 }, () => Math.floor(rnd() * 256))),
    ]);
  return Buffer.from(Array.from({ length: Math.floor(rnd() * 64) }, () => Math.floor(rnd() * 256)));
}

export function framed(body: Buffer): Buffer {
  const size = Buffer.alloc(4);
  size.writeInt32BE(body.length);
  return Buffer.concat([size, body]);
}
