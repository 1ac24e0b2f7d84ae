/**
 * Where a topic's replicas go, shared by the controller (new topics and partitions) and the admin
 * tools (reassignment plans): Kafka's AdminUtils.assignReplicasToBrokers.
 */

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
