/**
 * The narrow view of `__consumer_offsets` the coordinator needs. The broker implements it over its
 * partitions (appends with acks=-1 through the same path as Produce); tests implement it in memory.
 * The coordinator never learns about segments, replicas or the network.
 */
export interface GroupLog {
  /** Partitions of `__consumer_offsets` (offsets.topic.num.partitions when it was created). */
  readonly partitionCount: number;
  /**
   * Appends one RecordBatch v2 (offsets assigned by the log) and resolves once it is durable as
   * acks=-1 requires, with Kafka's error code for the append (0 when it worked).
   */
  append(partition: number, batch: Buffer): Promise<number>;
  /** The offset to start loading from. */
  startOffset(partition: number): number;
  /** The offset after the last record. */
  endOffset(partition: number): number;
  /**
   * Record batches starting at or before `offset` (whole batches, possibly more than one);
   * empty at the end of the log.
   */
  read(partition: number, offset: number): Promise<readonly Buffer[]>;
}
