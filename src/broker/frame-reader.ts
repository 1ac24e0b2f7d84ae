/**
 * Splits a byte stream into size-prefixed frames (Kafka's 4-byte big-endian length, then the
 * request). Each frame is assembled in a buffer of exactly its size, allocated once its size is
 * known and checked against the limit; the socket reads either straight into that buffer (the
 * large part of a large frame: no copy at all) or into a small scratch buffer shared by every
 * connection, from which bytes are copied once. Nothing else is allocated per read, which is what
 * keeps the garbage collector quiet at hundreds of megabytes per second: Node's default reading
 * allocates a fresh 64 KiB chunk per read, and a frame spanning chunks then needed a copy anyway.
 *
 * A frame above 8 MiB is gathered in pieces of 8 MiB, each allocated when its first bytes arrive,
 * and joined when complete (one more copy, for frames that size only), so a client that announces
 * a huge frame and sends little cannot make the broker allocate all of it.
 */
export class FrameTooLargeError extends Error {
  readonly size: number;

  constructor(size: number, max: number) {
    super(`request frame of ${size} bytes exceeds socket.request.max.bytes=${max}`);
    this.name = 'FrameTooLargeError';
    this.size = size;
  }
}

/** Bytes of the scratch buffer every connection reads small frames and frame heads into. */
export const SCRATCH_BYTES = 64 * 1024;

/** A frame up to this size is assembled in one buffer; larger ones in pieces of this size. */
const WHOLE_FRAME_BYTES_MAX = 8 * 1024 * 1024;

/** The socket reads straight into the frame when at least this much of it is still missing. */
const DIRECT_READ_BYTES_MIN = 16 * 1024;

let sharedScratch: Buffer | null = null;

/**
 * One scratch buffer for all connections of the process: a read fills it and `consume` copies
 * everything out before returning, and JavaScript runs one read callback at a time.
 */
function scratchBuffer(): Buffer {
  sharedScratch ??= Buffer.allocUnsafe(SCRATCH_BYTES);
  return sharedScratch;
}

export class FrameReader {
  readonly #maxFrameBytes: number;
  readonly #pieceBytesMax: number;
  /** The 4-byte size of the next frame, while it is incomplete. */
  readonly #head = Buffer.alloc(4);
  #headFilled = 0;
  /** Size of the frame being assembled, or -1 while its size is still being read. */
  #size = -1;
  /** Bytes of the current frame received so far. */
  #filled = 0;
  /** The buffer the frame's next bytes go into (the whole frame unless it is very large). */
  #piece: Buffer | null = null;
  #pieceFilled = 0;
  /** Full pieces of a frame larger than one piece, joined when the frame completes. */
  readonly #pieces: Buffer[] = [];
  /** The view of `#piece` last handed out for a direct read, to recognise it in `consume`. */
  #direct: Buffer | null = null;

  constructor(maxFrameBytes: number, pieceBytesMax = WHOLE_FRAME_BYTES_MAX) {
    this.#maxFrameBytes = maxFrameBytes;
    this.#pieceBytesMax = pieceBytesMax;
  }

  /** Bytes received towards frames not yet complete. */
  get bufferedBytes(): number {
    return this.#headFilled + this.#filled;
  }

  /**
   * Where the next socket read should go: the missing part of the current frame when a large
   * share of it is missing, else the shared scratch buffer.
   */
  nextBuffer(): Buffer {
    const piece = this.#piece;
    if (piece !== null && piece.length - this.#pieceFilled >= DIRECT_READ_BYTES_MIN) {
      this.#direct = piece.subarray(this.#pieceFilled);
      return this.#direct;
    }
    this.#direct = null;
    return scratchBuffer();
  }

  /**
   * Takes `n` bytes that a read placed at the start of `buffer` (the last `nextBuffer()`), and
   * returns every frame they complete, in order, without the size prefix.
   */
  consume(buffer: Buffer, n: number): Buffer[] {
    if (buffer === this.#direct) {
      this.#direct = null;
      return this.#advance(n) ? [this.#complete()] : [];
    }
    return this.push(buffer.subarray(0, n));
  }

  /** Copies a received chunk in and returns every frame it completes (without the size). */
  push(chunk: Buffer): Buffer[] {
    const frames: Buffer[] = [];
    let at = 0;
    while (at < chunk.length) {
      if (this.#size < 0) {
        const n = Math.min(4 - this.#headFilled, chunk.length - at);
        chunk.copy(this.#head, this.#headFilled, at, at + n);
        this.#headFilled += n;
        at += n;
        if (this.#headFilled < 4) break;
        this.#begin(this.#head.readInt32BE(0));
        if (this.#size === 0) frames.push(this.#complete());
        continue;
      }
      const piece = this.#piece ?? this.#newPiece();
      const n = Math.min(piece.length - this.#pieceFilled, chunk.length - at);
      chunk.copy(piece, this.#pieceFilled, at, at + n);
      at += n;
      if (this.#advance(n)) frames.push(this.#complete());
    }
    return frames;
  }

  #begin(size: number): void {
    if (size < 0 || size > this.#maxFrameBytes) {
      throw new FrameTooLargeError(size, this.#maxFrameBytes);
    }
    this.#size = size;
    this.#filled = 0;
    this.#headFilled = 0;
  }

  /** Allocated when the first bytes for it arrive, never ahead of them. */
  #newPiece(): Buffer {
    const piece = Buffer.allocUnsafe(Math.min(this.#size - this.#filled, this.#pieceBytesMax));
    this.#piece = piece;
    this.#pieceFilled = 0;
    return piece;
  }

  /** Accounts n bytes written into the current piece; true when the frame is complete. */
  #advance(n: number): boolean {
    this.#pieceFilled += n;
    this.#filled += n;
    const piece = this.#piece as Buffer;
    if (this.#pieceFilled === piece.length && this.#filled < this.#size) {
      this.#pieces.push(piece);
      this.#piece = null;
    }
    return this.#filled === this.#size;
  }

  #complete(): Buffer {
    let frame: Buffer;
    if (this.#pieces.length === 0) {
      frame = this.#piece ?? Buffer.alloc(0);
    } else {
      if (this.#piece !== null) this.#pieces.push(this.#piece);
      frame = Buffer.concat(this.#pieces, this.#size);
      this.#pieces.length = 0;
    }
    this.#piece = null;
    this.#pieceFilled = 0;
    this.#size = -1;
    this.#filled = 0;
    return frame;
  }
}
