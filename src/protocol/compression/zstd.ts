/**
 * Zstandard through `@bokuweb/zstd-wasm` (the reference C library compiled to WebAssembly and
 * shipped inside the npm package; nothing is fetched at install time). The module is loaded on
 * first use: `initZstd()` (awaited by the async codec API) must complete before the sync calls.
 *
 * The library's one-shot decompress sizes its output from the frame header, or a caller-given
 * size when the header has none (Java's zstd-jni streams and kafka-python write no content size).
 * So before calling it, `zstdFrames` walks the frames and their block headers to find each frame's
 * exact size (content size field) or an upper bound (sum of block sizes, 128 KiB per compressed
 * block), and the call is made per frame with a buffer no larger than `maxBytes`.
 */
import { checkDecompressedSize, corrupt } from './bounds.ts';

const CODEC = 'zstd';
const FRAME_MAGIC = 0xfd2fb528;
const SKIPPABLE_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;
const BLOCK_MAX = 128 * 1024;
/** ZSTD_error_dstSize_tooSmall, as returned (negated) by the one-shot API. */
const ERROR_DST_TOO_SMALL = -70;
/** Kafka's default zstd level. */
export const ZSTD_DEFAULT_LEVEL = 3;

type ZstdLib = typeof import('@bokuweb/zstd-wasm');

let lib: ZstdLib | null = null;
let loading: Promise<void> | null = null;

/** Loads and instantiates the WebAssembly module once; later calls return the same promise. */
export function initZstd(): Promise<void> {
  loading ??= (async () => {
    const mod = await import('@bokuweb/zstd-wasm');
    await mod.init();
    lib = mod;
  })();
  return loading;
}

export function zstdReady(): boolean {
  return lib !== null;
}

function ready(): ZstdLib {
  if (lib === null) throw new Error('zstd is not initialised: await initZstd() first');
  return lib;
}

export interface ZstdFrame {
  start: number;
  end: number;
  /** Exact size when the header says so, else an upper bound from the block headers. */
  bound: number;
  exact: boolean;
}

function frameHeaderEnd(src: Uint8Array, view: DataView, start: number): [number, number] {
  if (start + 6 > src.length) throw corrupt(CODEC, 'truncated frame header');
  const fhd = src[start + 4] as number;
  if (fhd & 0x08) throw corrupt(CODEC, 'reserved frame header bit set');
  if (fhd & 0x03) throw corrupt(CODEC, 'frames with a dictionary are not supported');
  const fcsFlag = fhd >>> 6;
  const single = (fhd & 0x20) !== 0;
  let pos = start + 5 + (single ? 0 : 1);
  const fcsBytes = fcsFlag === 0 ? (single ? 1 : 0) : 1 << fcsFlag;
  if (pos + fcsBytes > src.length) throw corrupt(CODEC, 'truncated frame header');
  let size = -1;
  if (fcsBytes === 1) size = src[pos] as number;
  else if (fcsBytes === 2) size = view.getUint16(pos, true) + 256;
  else if (fcsBytes === 4) size = view.getUint32(pos, true);
  else if (fcsBytes === 8)
    size = view.getUint32(pos, true) + view.getUint32(pos + 4, true) * 2 ** 32;
  pos += fcsBytes;
  return [pos, size];
}

function readFrame(src: Uint8Array, view: DataView, start: number): ZstdFrame {
  const fhd = src[start + 4] as number;
  let [pos, size] = frameHeaderEnd(src, view, start);
  let bound = 0;
  for (;;) {
    if (pos + 3 > src.length) throw corrupt(CODEC, 'truncated block header');
    const h =
      (src[pos] as number) | ((src[pos + 1] as number) << 8) | ((src[pos + 2] as number) << 16);
    pos += 3;
    const type = (h >>> 1) & 3;
    const blockSize = h >>> 3;
    if (type === 3) throw corrupt(CODEC, 'reserved block type');
    if (blockSize > BLOCK_MAX) throw corrupt(CODEC, 'block larger than 128 KiB');
    const stored = type === 1 ? 1 : blockSize;
    if (stored > src.length - pos) throw corrupt(CODEC, 'block runs past the input');
    pos += stored;
    bound += type === 2 ? BLOCK_MAX : blockSize;
    if (h & 1) break;
  }
  if (fhd & 0x04) pos += 4;
  if (pos > src.length) throw corrupt(CODEC, 'truncated frame checksum');
  const exact = size >= 0;
  return { start, end: pos, bound: exact ? size : bound, exact };
}

/** Walks the frames of `src` (skipping skippable frames) without decompressing. */
export function zstdFrames(src: Uint8Array): ZstdFrame[] {
  const view = new DataView(src.buffer, src.byteOffset, src.byteLength);
  const frames: ZstdFrame[] = [];
  let pos = 0;
  if (src.length < 4) throw corrupt(CODEC, 'truncated frame');
  while (pos < src.length) {
    if (pos + 8 > src.length) throw corrupt(CODEC, 'trailing bytes after the last frame');
    const magic = view.getUint32(pos, true);
    if ((magic & SKIPPABLE_MASK) >>> 0 === SKIPPABLE_MAGIC) {
      const size = view.getUint32(pos + 4, true);
      if (size > src.length - pos - 8) throw corrupt(CODEC, 'skippable frame runs past input');
      pos += 8 + size;
      continue;
    }
    if (magic !== FRAME_MAGIC) throw corrupt(CODEC, 'not a zstd frame (bad magic)');
    const frame = readFrame(src, view, pos);
    frames.push(frame);
    pos = frame.end;
  }
  return frames;
}

function decompressFrame(z: ZstdLib, src: Uint8Array, f: ZstdFrame, room: number): Uint8Array {
  if (f.exact) checkDecompressedSize(CODEC, f.bound, room);
  const capacity = Math.min(f.bound, room);
  if (capacity === 0 && f.exact) return new Uint8Array(0);
  try {
    // The library takes the header's content size when present, else this heap size.
    return z.decompress(src.subarray(f.start, f.end), { defaultHeapSize: Math.max(1, capacity) });
  } catch (e) {
    const code = Number(/(-?\d+)\s*$/.exec(e instanceof Error ? e.message : '')?.[1]);
    if (code === ERROR_DST_TOO_SMALL && capacity === room) {
      throw corrupt(CODEC, `decompressed size exceeds the limit of ${room} bytes`);
    }
    throw corrupt(CODEC, `corrupt frame (zstd error ${code})`);
  }
}

/** Decompresses all frames of `data` to at most `maxBytes` bytes. Needs `initZstd()` first. */
export function zstdDecompress(data: Uint8Array, maxBytes: number): Buffer {
  const z = ready();
  const frames = zstdFrames(data);
  const parts: Uint8Array[] = [];
  let total = 0;
  for (const f of frames) {
    const part = decompressFrame(z, data, f, maxBytes - total);
    total += part.length;
    checkDecompressedSize(CODEC, total, maxBytes);
    parts.push(part);
  }
  const first = parts[0];
  if (parts.length === 1 && first !== undefined) {
    return Buffer.from(first.buffer, first.byteOffset, first.byteLength);
  }
  return Buffer.concat(parts, total);
}

/** Compresses `data` as one zstd frame (with its content size). Needs `initZstd()` first. */
export function zstdCompress(data: Uint8Array, level = ZSTD_DEFAULT_LEVEL): Buffer {
  const out = ready().compress(data, level);
  return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
}
