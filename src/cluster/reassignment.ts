/**
 * A partition's replica assignment during a reassignment, in Kafka's terms (ReplicaAssignment,
 * KIP-455): RS the full replica set, AR the replicas being added, RR those being removed. The
 * original set is RS - AR, the target RS - RR. While a reassignment runs, the target replicas come
 * first in RS (in the order asked), then the original ones that are leaving, so the preferred
 * leader is the target's first. Pure functions: the controller owns the state.
 */

export interface PartitionAssignment {
  /** RS: every replica the partition has now, target first. */
  readonly replicas: readonly number[];
  /** AR: replicas being added (not in the original set). */
  readonly adding: readonly number[];
  /** RR: replicas being removed (not in the target set). */
  readonly removing: readonly number[];
}

export function settledAssignment(replicas: readonly number[]): PartitionAssignment {
  return { replicas, adding: [], removing: [] };
}

export function isBeingReassigned(a: PartitionAssignment): boolean {
  return a.adding.length > 0 || a.removing.length > 0;
}

/** ORS: the replicas before the reassignment began. */
export function originReplicas(a: PartitionAssignment): number[] {
  return a.replicas.filter((r) => !a.adding.includes(r));
}

/** TRS: the replicas once it completes. */
export function targetReplicas(a: PartitionAssignment): number[] {
  return a.replicas.filter((r) => !a.removing.includes(r));
}

/**
 * A reassignment from the original replicas to `target` (which replaces any reassignment under
 * way: replicas added by that one and not wanted now simply leave RS).
 */
export function reassignTo(a: PartitionAssignment, target: readonly number[]): PartitionAssignment {
  const origin = originReplicas(a);
  const replicas = [...new Set([...target, ...origin])];
  return {
    replicas,
    adding: replicas.filter((r) => !origin.includes(r)),
    removing: replicas.filter((r) => !target.includes(r)),
  };
}

export function sameAssignment(a: PartitionAssignment, b: PartitionAssignment): boolean {
  return (
    sameList(a.replicas, b.replicas) &&
    sameList(a.adding, b.adding) &&
    sameList(a.removing, b.removing)
  );
}

function sameList(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => b[i] === x);
}

/**
 * Kafka's checks of a requested target (KafkaController.validateReplicas), the liveness of the
 * replicas being added aside: the reason it is invalid, or null.
 */
export function invalidTarget(replicas: readonly number[]): string | null {
  if (replicas.length === 0) return 'Empty replica list specified in partition reassignment.';
  if (new Set(replicas).size !== replicas.length) {
    return `Duplicate replica ids in partition reassignment replica list: ${replicas.join(',')}`;
  }
  if (replicas.some((r) => !Number.isInteger(r) || r < 0)) {
    return `Invalid broker id in replica list: ${replicas.join(',')}`;
  }
  return null;
}

/**
 * Kafka's ReassignPartitionLeaderElection: the first target replica that is alive and in sync.
 * -1 when there is none.
 */
export function reassignmentLeader(
  target: readonly number[],
  isr: readonly number[],
  live: ReadonlySet<number>,
): number {
  return target.find((r) => live.has(r) && isr.includes(r)) ?? -1;
}
