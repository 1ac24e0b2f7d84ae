/**
 * CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), as Kafka uses for RecordBatch v2.
 *
 * Two implementations with one contract: `@node-rs/crc32` (native SSE4.2/ARMv8 CRC instructions;
 * its platform binaries are npm optionalDependencies, nothing is downloaded at install time) when it
 * loads on this platform, else pure JavaScript slicing-by-8 over eight 256-entry tables (8 KiB).
 * Ranges shorter than NATIVE_MIN_BYTES stay in JavaScript, where the call into native code costs
 * more than it saves (see bench/records.ts and docs/benchmarks.md).
 */
import { createRequire } from 'node:module';

type NativeCrc = (input: Uint8Array, initialState?: number) => number;

const NATIVE_MIN_BYTES = 256;
const POLY = 0x82f63b78;
const TABLES = buildTables();

function buildTables(): Uint32Array {
  const t = new Uint32Array(8 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    t[n] = c >>> 0;
  }
  for (let n = 0; n < 256; n++) {
    let c = t[n] as number;
    for (let k = 1; k < 8; k++) {
      c = (t[c & 0xff] as number) ^ (c >>> 8);
      t[k * 256 + n] = c >>> 0;
    }
  }
  return t;
}

function loadNative(): NativeCrc | null {
  try {
    const mod = createRequire(import.meta.url)('@node-rs/crc32') as { crc32c?: NativeCrc };
    const fn = mod.crc32c;
    // Trust it only if it agrees with the standard check value.
    if (typeof fn !== 'function' || fn(Buffer.from('123456789')) !== 0xe3069283) return null;
    return fn;
  } catch {
    return null;
  }
}

const NATIVE = loadNative();

/** Which implementation `crc32c` uses for long ranges: 'native' or 'js'. */
export const crc32cImplementation: 'native' | 'js' = NATIVE === null ? 'js' : 'native';

/** CRC-32C of buf[start, end), continuing from `seed` (a previous result) when given. */
export function crc32c(buf: Uint8Array, start = 0, end = buf.length, seed = 0): number {
  if (NATIVE !== null && end - start >= NATIVE_MIN_BYTES) {
    const view = start === 0 && end === buf.length ? buf : buf.subarray(start, end);
    return NATIVE(view, seed) >>> 0;
  }
  return crc32cJs(buf, start, end, seed);
}

/** The pure JavaScript implementation, always available (tests and benchmarks compare both). */
export function crc32cJs(buf: Uint8Array, start = 0, end = buf.length, seed = 0): number {
  const t = TABLES;
  let crc = ~seed >>> 0;
  let i = start;
  const end8 = end - ((end - start) & 7);
  while (i < end8) {
    const a =
      (crc ^
        (buf[i] as number) ^
        ((buf[i + 1] as number) << 8) ^
        ((buf[i + 2] as number) << 16) ^
        ((buf[i + 3] as number) << 24)) >>>
      0;
    crc =
      (t[7 * 256 + (a & 0xff)] as number) ^
      (t[6 * 256 + ((a >>> 8) & 0xff)] as number) ^
      (t[5 * 256 + ((a >>> 16) & 0xff)] as number) ^
      (t[4 * 256 + (a >>> 24)] as number) ^
      (t[3 * 256 + (buf[i + 4] as number)] as number) ^
      (t[2 * 256 + (buf[i + 5] as number)] as number) ^
      (t[256 + (buf[i + 6] as number)] as number) ^
      (t[buf[i + 7] as number] as number);
    i += 8;
  }
  while (i < end) {
    crc = (t[(crc ^ (buf[i] as number)) & 0xff] as number) ^ (crc >>> 8);
    i++;
  }
  return ~crc >>> 0;
}
