/**
 * Jute, ZooKeeper's serialization: big-endian ints and longs, one-byte booleans, length-prefixed
 * buffers and UTF-8 strings (-1 for null), count-prefixed vectors. The reader checks every
 * length against what is left of the frame, so a malformed or hostile frame raises a
 * JuteError instead of reading past its end or allocating what it claims.
 */

export class JuteError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JuteError';
  }
}

export class JuteWriter {
  #buffer: Buffer;
  #length = 0;

  constructor(initialCapacity = 256) {
    this.#buffer = Buffer.allocUnsafe(initialCapacity);
  }

  get length(): number {
    return this.#length;
  }

  #reserve(bytes: number): void {
    const needed = this.#length + bytes;
    if (needed <= this.#buffer.length) return;
    const grown = Buffer.allocUnsafe(Math.max(needed, this.#buffer.length * 2));
    this.#buffer.copy(grown, 0, 0, this.#length);
    this.#buffer = grown;
  }

  int(value: number): this {
    this.#reserve(4);
    this.#buffer.writeInt32BE(value, this.#length);
    this.#length += 4;
    return this;
  }

  long(value: bigint | number): this {
    this.#reserve(8);
    this.#buffer.writeBigInt64BE(BigInt(value), this.#length);
    this.#length += 8;
    return this;
  }

  bool(value: boolean): this {
    this.#reserve(1);
    this.#buffer[this.#length] = value ? 1 : 0;
    this.#length += 1;
    return this;
  }

  buffer(value: Uint8Array | null): this {
    if (value === null) return this.int(-1);
    this.int(value.length);
    this.#reserve(value.length);
    this.#buffer.set(value, this.#length);
    this.#length += value.length;
    return this;
  }

  string(value: string | null): this {
    return this.buffer(value === null ? null : Buffer.from(value, 'utf8'));
  }

  strings(values: readonly string[]): this {
    this.int(values.length);
    for (const value of values) this.string(value);
    return this;
  }

  /** The bytes written so far, prefixed by their length: one frame on the wire. */
  frame(): Buffer {
    const framed = Buffer.allocUnsafe(4 + this.#length);
    framed.writeInt32BE(this.#length, 0);
    this.#buffer.copy(framed, 4, 0, this.#length);
    return framed;
  }
}

export class JuteReader {
  readonly #buffer: Buffer;
  #offset = 0;

  constructor(buffer: Buffer) {
    this.#buffer = buffer;
  }

  get remaining(): number {
    return this.#buffer.length - this.#offset;
  }

  #need(bytes: number, what: string): void {
    if (bytes > this.remaining) {
      throw new JuteError(`${what}: needs ${bytes} bytes, ${this.remaining} left in the frame`);
    }
  }

  int(): number {
    this.#need(4, 'int');
    const value = this.#buffer.readInt32BE(this.#offset);
    this.#offset += 4;
    return value;
  }

  /** A long as a bigint: session ids use all 64 bits. */
  bigLong(): bigint {
    this.#need(8, 'long');
    const value = this.#buffer.readBigInt64BE(this.#offset);
    this.#offset += 8;
    return value;
  }

  /** A long that must fit a JavaScript number (zxids, times). */
  long(): number {
    const value = this.bigLong();
    if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
      throw new JuteError(`long ${value} is not a safe integer`);
    }
    return Number(value);
  }

  bool(): boolean {
    this.#need(1, 'boolean');
    const value = this.#buffer[this.#offset] !== 0;
    this.#offset += 1;
    return value;
  }

  /** A buffer as a slice of the frame; null for length -1. */
  buffer(): Buffer | null {
    const length = this.int();
    if (length === -1) return null;
    if (length < 0) throw new JuteError(`negative buffer length ${length}`);
    this.#need(length, 'buffer');
    const value = this.#buffer.subarray(this.#offset, this.#offset + length);
    this.#offset += length;
    return value;
  }

  string(): string | null {
    const bytes = this.buffer();
    return bytes === null ? null : bytes.toString('utf8');
  }

  strings(): string[] {
    const count = this.int();
    if (count === -1) return [];
    // Every element takes at least its 4-byte length: a count the frame cannot hold is refused
    // before anything is allocated for it.
    if (count < 0 || count * 4 > this.remaining) {
      throw new JuteError(`vector count ${count} does not fit the ${this.remaining} bytes left`);
    }
    const values: string[] = [];
    for (let i = 0; i < count; i++) values.push(this.string() ?? '');
    return values;
  }
}
