/**
 * Splits a byte stream into size-prefixed frames. A frame that lies inside one received chunk is
 * handed on as a view of that chunk; only a frame that spans chunks is copied, once, into a buffer
 * of exactly its size. The size is checked against the limit before anything is allocated.
 */
export class FrameTooLargeError extends Error {
  readonly size: number;

  constructor(size: number, max: number) {
    super(`request frame of ${size} bytes exceeds socket.request.max.bytes=${max}`);
    this.name = 'FrameTooLargeError';
    this.size = size;
  }
}

export class FrameReader {
  readonly #maxFrameBytes: number;
  #chunks: Buffer[] = [];
  #buffered = 0;

  constructor(maxFrameBytes: number) {
    this.#maxFrameBytes = maxFrameBytes;
  }

  get bufferedBytes(): number {
    return this.#buffered;
  }

  /** Adds a chunk and returns every complete frame (without the 4-byte size), in order. */
  push(chunk: Buffer): Buffer[] {
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    const frames: Buffer[] = [];
    for (;;) {
      if (this.#buffered < 4) break;
      const size = this.#peekSize();
      if (size < 0 || size > this.#maxFrameBytes)
        throw new FrameTooLargeError(size, this.#maxFrameBytes);
      if (this.#buffered < 4 + size) break;
      frames.push(this.#take(size));
    }
    return frames;
  }

  #peekSize(): number {
    const first = this.#chunks[0] as Buffer;
    if (first.length >= 4) return first.readInt32BE(0);
    const head = Buffer.alloc(4);
    let filled = 0;
    for (const c of this.#chunks) {
      const n = Math.min(4 - filled, c.length);
      c.copy(head, filled, 0, n);
      filled += n;
      if (filled === 4) break;
    }
    return head.readInt32BE(0);
  }

  /** Removes 4 + size bytes from the front and returns the frame body. */
  #take(size: number): Buffer {
    this.#skip(4);
    const first = this.#chunks[0];
    let frame: Buffer;
    if (first !== undefined && first.length >= size) {
      frame = first.subarray(0, size);
      this.#dropFront(size);
    } else {
      frame = Buffer.allocUnsafe(size);
      let filled = 0;
      while (filled < size) {
        const c = this.#chunks[0] as Buffer;
        const n = Math.min(size - filled, c.length);
        c.copy(frame, filled, 0, n);
        filled += n;
        this.#dropFront(n);
      }
    }
    return frame;
  }

  #skip(n: number): void {
    let left = n;
    while (left > 0) {
      const c = this.#chunks[0] as Buffer;
      const k = Math.min(left, c.length);
      this.#dropFront(k);
      left -= k;
    }
  }

  #dropFront(n: number): void {
    const c = this.#chunks[0] as Buffer;
    if (n === c.length) this.#chunks.shift();
    else this.#chunks[0] = c.subarray(n);
    this.#buffered -= n;
  }
}
