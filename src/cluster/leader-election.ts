/**
 * Kafka's partition leader election rules (PartitionLeaderElectionAlgorithms), pure: given a
 * partition's assignment (preferred replica first), its ISR and the live brokers, which replica
 * leads next and what the ISR becomes. The controller applies the result with a fenced write.
 */

export interface ElectionInput {
  /** The replica assignment, preferred leader first. */
  readonly assignment: readonly number[];
  readonly isr: readonly number[];
  readonly live: ReadonlySet<number>;
}

export interface Election {
  /** The new leader, or -1 when no replica may lead (the partition is offline). */
  readonly leader: number;
  readonly isr: readonly number[];
  /** True when the leader came from outside the ISR (unclean.leader.election.enable). */
  readonly unclean: boolean;
}

const NO_LEADER: Election = { leader: -1, isr: [], unclean: false };

/**
 * A partition whose leader is gone (or that never had one): the first live replica of the
 * assignment that is in the ISR; without one, with unclean election allowed, the first live
 * replica at all (it may lack acknowledged records: that is what "unclean" means); else none.
 * The ISR keeps its live members (a new partition's ISR is its live assignment).
 */
export function electOfflinePartitionLeader(
  input: ElectionInput,
  uncleanAllowed: boolean,
): Election {
  const liveIsr = input.isr.filter((r) => input.live.has(r));
  const clean = input.assignment.find((r) => input.live.has(r) && liveIsr.includes(r));
  if (clean !== undefined) return { leader: clean, isr: liveIsr, unclean: false };
  if (!uncleanAllowed) return { ...NO_LEADER, isr: liveIsr };
  const any = input.assignment.find((r) => input.live.has(r));
  if (any === undefined) return { ...NO_LEADER, isr: liveIsr };
  return { leader: any, isr: [any], unclean: true };
}

/** A new partition: the first live replica leads, every live replica is in sync (empty logs). */
export function electNewPartitionLeader(input: Omit<ElectionInput, 'isr'>): Election {
  const live = input.assignment.filter((r) => input.live.has(r));
  const leader = live[0];
  return leader === undefined ? NO_LEADER : { leader, isr: live, unclean: false };
}

/** The preferred replica (first of the assignment) takes over when it is live and in sync. */
export function electPreferredLeader(input: ElectionInput): Election | null {
  const preferred = input.assignment[0];
  if (preferred === undefined || !input.live.has(preferred) || !input.isr.includes(preferred)) {
    return null;
  }
  return { leader: preferred, isr: input.isr, unclean: false };
}

/**
 * A broker shutting down hands its leadership to another live in-sync replica that is not
 * shutting down, and leaves the ISR; null when there is none (the broker keeps leading).
 */
export function electControlledShutdownLeader(
  input: ElectionInput,
  shuttingDown: ReadonlySet<number>,
): Election | null {
  const isr = input.isr.filter((r) => !shuttingDown.has(r));
  const leader = input.assignment.find((r) => input.live.has(r) && isr.includes(r));
  return leader === undefined ? null : { leader, isr, unclean: false };
}
