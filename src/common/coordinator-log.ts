/**
 * What Kafka's coordinators share: state kept as records on an internal compacted topic
 * (`__consumer_offsets` for groups, `__transaction_state` for transactions), a key mapped to
 * one partition of it by Java's String.hashCode, and the narrow view of that topic a coordinator
 * needs. The broker implements the view over its partitions (appends with acks=-1 through the
 * same path as Produce); tests implement it in memory. A coordinator never learns about segments,
 * replicas or the network.
 */

export interface CoordinatorLog {
  /** Partitions of the topic (its partition count when it was created). */
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

/** Java's String.hashCode, which Kafka hashes coordinator keys with. */
export function javaStringHashCode(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(31, h) + s.charCodeAt(i)) | 0;
  return h;
}

/** The partition of a group id or transactional id: Kafka's Utils.abs(hashCode) % partitions. */
export function partitionForKey(key: string, partitionCount: number): number {
  const h = javaStringHashCode(key);
  const abs = h === -2147483648 ? 0 : Math.abs(h);
  return abs % partitionCount;
}
