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

/**
 * Kafka's replica assignment (AdminUtils.assignReplicasToBrokers): each partition's first replica
 * round-robin from a start index, the followers at a shift that grows every time the partitions
 * wrap around the brokers, so leaders and replicas spread evenly. With racks, brokers are taken
 * in rack-alternating order and a follower goes to a rack (and broker) the partition has no
 * replica on yet, as long as there is one.
 */
export function assignReplicas(
  brokers: readonly { readonly id: number; readonly rack: string | null }[],
  partitions: number,
  replicationFactor: number,
  start: number,
  firstPartition = 0,
): number[][] {
  const n = brokers.length;
  if (replicationFactor > n) {
    throw new RangeError(
      `Replication factor: ${replicationFactor} larger than available brokers: ${n}.`,
    );
  }
  const rackOf = new Map(brokers.map((b) => [b.id, b.rack ?? '']));
  const racks = new Set(rackOf.values()).size;
  const rackAware = brokers.every((b) => b.rack !== null) && racks > 1;
  const ordered = rackAware
    ? rackAlternating(brokers)
    : brokers.map((b) => b.id).sort((x, y) => x - y);
  const out: number[][] = [];
  let shift = start;
  for (let i = 0; i < partitions; i++) {
    const p = firstPartition + i;
    if (p > 0 && p % n === 0) shift++;
    const first = (p + start) % n;
    const leader = ordered[first] as number;
    const replicas = [leader];
    const racksUsed = new Set([rackOf.get(leader)]);
    for (let k = 0; replicas.length < replicationFactor; k++) {
      const step = rackAware ? shift * racks : shift;
      const broker = ordered[(first + 1 + ((step + k) % Math.max(1, n - 1))) % n] as number;
      const rack = rackOf.get(broker);
      const rackFree = !rackAware || !racksUsed.has(rack) || racksUsed.size === racks;
      const brokerFree = !replicas.includes(broker);
      if (rackFree && brokerFree) {
        replicas.push(broker);
        racksUsed.add(rack);
      }
      if (k > n * n) throw new Error('replica assignment did not converge');
    }
    out.push(replicas);
  }
  return out;
}

/** Brokers sorted by id, interleaved across racks (rack A, rack B, rack A, ...). */
function rackAlternating(
  brokers: readonly { readonly id: number; readonly rack: string | null }[],
): number[] {
  const byRack = new Map<string, number[]>();
  for (const b of [...brokers].sort((x, y) => x.id - y.id)) {
    const rack = b.rack ?? '';
    byRack.set(rack, [...(byRack.get(rack) ?? []), b.id]);
  }
  const racks = [...byRack.keys()].sort();
  const out: number[] = [];
  for (let i = 0; out.length < brokers.length; i++) {
    for (const r of racks) {
      const id = byRack.get(r)?.[i];
      if (id !== undefined) out.push(id);
    }
  }
  return out;
}
