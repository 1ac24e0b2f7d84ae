/**
 * CRC-32 (IEEE 802.3, java.util.zip.CRC32), the checksum of legacy messages (magic 0 and 1).
 * Node's zlib.crc32 (native, Node >= 20.15) when present, else a table-driven fallback.
 */
import * as zlib from 'node:zlib';

type ZlibCrc = (data: Uint8Array, value?: number) => number;

const ZLIB_CRC = (zlib as unknown as { crc32?: ZlibCrc }).crc32;
const TABLE = buildTable();

function buildTable(): Uint32Array {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
}

/** CRC-32 of buf[start, end) as an unsigned 32-bit number. */
export function crc32(buf: Uint8Array, start = 0, end = buf.length): number {
  if (ZLIB_CRC !== undefined) return ZLIB_CRC(buf.subarray(start, end), 0) >>> 0;
  return crc32Js(buf, start, end);
}

export function crc32Js(buf: Uint8Array, start = 0, end = buf.length): number {
  let crc = 0xffffffff;
  for (let i = start; i < end; i++) {
    crc = (TABLE[(crc ^ (buf[i] as number)) & 0xff] as number) ^ (crc >>> 8);
  }
  return ~crc >>> 0;
}
