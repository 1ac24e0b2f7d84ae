/**
 * A checker in the style of Jepsen's Kafka tests for transactions (list-append): each
 * transaction appended unique values to a few partitions and ended committed, aborted, or
 * unknown (the client could not learn the outcome). Reading every partition with read_committed
 * afterwards must show:
 *
 * - no aborted read: no value of an aborted transaction;
 * - no torn transaction: of each transaction, all of its values or none;
 * - no lost write: every value of every committed transaction;
 * - no duplicate: no value twice;
 * - monotonic offsets: within a partition, offsets only grow in the order read.
 *
 * Unknown transactions may be visible or not, but whole (the torn check covers them).
 */

export type TxnOutcome = 'commit' | 'abort' | 'unknown';

export interface TxnHistoryEntry {
  /** Unique across the history (the writer's id and its transaction number). */
  readonly id: string;
  /** [partition, value] of every append of the transaction. */
  readonly values: readonly (readonly [number, string])[];
  readonly outcome: TxnOutcome;
}

export interface ReadRecord {
  readonly partition: number;
  readonly offset: number;
  readonly value: string;
}

export interface TxnCheckResult {
  readonly transactions: number;
  readonly committed: number;
  readonly aborted: number;
  readonly unknown: number;
  readonly unknownVisible: number;
  readonly abortedReads: readonly string[];
  readonly torn: readonly string[];
  readonly lost: readonly string[];
  readonly duplicated: readonly string[];
  readonly nonMonotonic: readonly string[];
  readonly ok: boolean;
}

export function checkTransactions(
  history: readonly TxnHistoryEntry[],
  read: readonly ReadRecord[],
): TxnCheckResult {
  const seen = new Map<string, number>();
  const lastOffset = new Map<number, number>();
  const nonMonotonic: string[] = [];
  for (const r of read) {
    seen.set(r.value, (seen.get(r.value) ?? 0) + 1);
    const prev = lastOffset.get(r.partition);
    if (prev !== undefined && r.offset <= prev) {
      nonMonotonic.push(`partition ${r.partition}: offset ${r.offset} after ${prev}`);
    }
    lastOffset.set(r.partition, r.offset);
  }
  const duplicated = [...seen].filter(([, n]) => n > 1).map(([v, n]) => `${v} x${n}`);
  const abortedReads: string[] = [];
  const torn: string[] = [];
  const lost: string[] = [];
  let unknownVisible = 0;
  for (const t of history) {
    const visible = t.values.filter(([, v]) => seen.has(v)).length;
    if (t.outcome === 'abort' && visible > 0) abortedReads.push(t.id);
    if (visible > 0 && visible < t.values.length)
      torn.push(`${t.id} (${visible}/${t.values.length})`);
    if (t.outcome === 'commit' && visible < t.values.length) lost.push(t.id);
    if (t.outcome === 'unknown' && visible > 0) unknownVisible++;
  }
  const count = (o: TxnOutcome) => history.filter((t) => t.outcome === o).length;
  return {
    transactions: history.length,
    committed: count('commit'),
    aborted: count('abort'),
    unknown: count('unknown'),
    unknownVisible,
    abortedReads,
    torn,
    lost,
    duplicated,
    nonMonotonic,
    ok:
      abortedReads.length === 0 &&
      torn.length === 0 &&
      lost.length === 0 &&
      duplicated.length === 0 &&
      nonMonotonic.length === 0,
  };
}
