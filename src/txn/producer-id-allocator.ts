export const PRODUCER_ID_BLOCK_SIZE = 1000;

/**
 * Hands out producer ids from durably reserved blocks: a block is reserved (written by the owner
 * of the metadata) before any id of it is given out, so a restart never reuses an id; it skips
 * the rest of its block, as Kafka does. One per broker, shared by InitProducerId and, later, the
 * transaction coordinator.
 */
export class ProducerIdAllocator {
  readonly #reserve: (count: number) => Promise<number>;
  readonly #blockSize: number;
  #next = 0;
  #end = 0;
  #refill: Promise<void> | null = null;

  constructor(reserve: (count: number) => Promise<number>, blockSize = PRODUCER_ID_BLOCK_SIZE) {
    this.#reserve = reserve;
    this.#blockSize = blockSize;
  }

  async next(): Promise<number> {
    while (this.#next >= this.#end) {
      this.#refill ??= this.#reserveBlock();
      await this.#refill;
    }
    const id = this.#next;
    this.#next += 1;
    return id;
  }

  async #reserveBlock(): Promise<void> {
    try {
      const first = await this.#reserve(this.#blockSize);
      this.#next = first;
      this.#end = first + this.#blockSize;
    } finally {
      this.#refill = null;
    }
  }
}
