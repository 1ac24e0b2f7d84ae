/**
 * MurmurHash3 x86 128 (Austin Appleby's published algorithm, written here from its description)
 * over a byte range, with no allocation: the log cleaner's offset map keys each record by this
 * digest of its key instead of MD5 (Kafka's choice; here a native call and a new Buffer a key).
 * Nothing on disk depends on it: the map lives for one cleaning.
 *
 * Why the x86 variant: it works in 32-bit lanes, and JavaScript multiplies 32-bit integers
 * natively (Math.imul), while the x64 variant's 64-bit multiplies take four 32-bit ones and a
 * double each; written here both ways, the x64 one cost about 5x the time of this one a short key.
 * Both give 128 bits. The digest is four 32-bit words, h1 to h4; as little-endian bytes they are
 * the canonical output (Python's `mmh3.hash_bytes(key, seed, x64arch=False)`).
 *
 * Why 128 bits: two live keys with the same digest in one cleaning make the cleaner keep only the
 * later of them and drop the other key's latest value. A dedupe buffer of 128 MiB holds at most
 * 5.6 M entries of 24 bytes, 5 M keys at the 0.9 load factor. For n keys and a digest that behaves
 * as a random 128-bit value the chance of any collision among them is about n^2 / 2^129: 3.7e-26
 * for a full map of 5 M keys, and 1.7e-21 for 2^30 keys (more than a 24 GiB buffer holds). A
 * 64-bit digest would give 7e-7 per full cleaning of 5 M keys, and a log is cleaned again and
 * again for years. Keys of at
 * most 16 bytes and the same length never collide at all: for them every step (each lane's
 * multiplies and rotations, the sums across lanes, the final mixes) is a bijection of 128 bits.
 * Keys made to collide can be built, as they can for MD5: a client that may write them to a
 * compacted topic may as well delete the key there with a tombstone.
 */

const C1 = 0x239b961b;
const C2 = 0xab0e9789 | 0;
const C3 = 0x38b34ae5;
const C4 = 0xa1e38b93 | 0;

/** Little-endian 32-bit word at `i`. */
function word(b: Uint8Array, i: number): number {
  const w = (b[i] as number) | ((b[i + 1] as number) << 8) | ((b[i + 2] as number) << 16);
  return w | ((b[i + 3] as number) << 24);
}

/** Little-endian word of the `count` bytes at `i` (0 when count <= 0, four bytes at most). */
function part(b: Uint8Array, i: number, count: number): number {
  if (count >= 4) return word(b, i);
  if (count <= 0) return 0;
  let w = b[i] as number;
  if (count > 1) w |= (b[i + 1] as number) << 8;
  if (count > 2) w |= (b[i + 2] as number) << 16;
  return w;
}

/** The final mix of one 32-bit lane (fmix32). */
function fmix(x: number): number {
  let h = x ^ (x >>> 16);
  h = Math.imul(h, 0x85ebca6b | 0);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35 | 0);
  return h ^ (h >>> 16);
}

/**
 * MurmurHash3 x86 128 of bytes [start, end) of `b` with a 32-bit `seed`, into `out` (h1 to h4).
 * Every value stays an int32 (`| 0`), which the compiler keeps in registers.
 */
export function murmur3x86128(
  b: Uint8Array,
  start: number,
  end: number,
  seed: number,
  out: Int32Array,
): void {
  let h1 = seed | 0;
  let h2 = h1;
  let h3 = h1;
  let h4 = h1;
  const len = end - start;
  const tailAt = start + (len & ~15);
  let k = 0;
  // Each 16-byte block: lane i's word times c_i, rotated, times c_i+1, into h_i; then h_i is
  // rotated, added to h_i+1, times 5 plus a constant.
  for (let i = start; i < tailAt; i += 16) {
    k = Math.imul(word(b, i), C1);
    h1 ^= Math.imul((k << 15) | (k >>> 17), C2);
    h1 = (h1 << 19) | (h1 >>> 13);
    h1 = (Math.imul(h1 + h2, 5) + 0x561ccd1b) | 0;
    k = Math.imul(word(b, i + 4), C2);
    h2 ^= Math.imul((k << 16) | (k >>> 16), C3);
    h2 = (h2 << 17) | (h2 >>> 15);
    h2 = (Math.imul(h2 + h3, 5) + 0x0bcaa747) | 0;
    k = Math.imul(word(b, i + 8), C3);
    h3 ^= Math.imul((k << 17) | (k >>> 15), C4);
    h3 = (h3 << 15) | (h3 >>> 17);
    h3 = (Math.imul(h3 + h4, 5) + 0x96cd1c35) | 0;
    k = Math.imul(word(b, i + 12), C4);
    h4 ^= Math.imul((k << 18) | (k >>> 14), C1);
    h4 = (h4 << 13) | (h4 >>> 19);
    h4 = (Math.imul(h4 + h1, 5) + 0x32ac3b17) | 0;
  }
  // The last len % 16 bytes, lane by lane, mixed as in a block without the second step (a lane
  // with no byte left mixes in 0, which changes nothing).
  const n = end - tailAt;
  k = Math.imul(part(b, tailAt + 12, n - 12), C4);
  h4 ^= Math.imul((k << 18) | (k >>> 14), C1);
  k = Math.imul(part(b, tailAt + 8, n - 8), C3);
  h3 ^= Math.imul((k << 17) | (k >>> 15), C4);
  k = Math.imul(part(b, tailAt + 4, n - 4), C2);
  h2 ^= Math.imul((k << 16) | (k >>> 16), C3);
  k = Math.imul(part(b, tailAt, n), C1);
  h1 ^= Math.imul((k << 15) | (k >>> 17), C2);
  // The length in; the lanes summed into each other, mixed each, summed again.
  h1 = ((h1 ^ len) + (h2 ^ len) + (h3 ^ len) + (h4 ^ len)) | 0;
  h2 = fmix(((h2 ^ len) + h1) | 0);
  h3 = fmix(((h3 ^ len) + h1) | 0);
  h4 = fmix(((h4 ^ len) + h1) | 0);
  h1 = (fmix(h1) + h2 + h3 + h4) | 0;
  out[0] = h1;
  out[1] = h2 + h1;
  out[2] = h3 + h1;
  out[3] = h4 + h1;
}
