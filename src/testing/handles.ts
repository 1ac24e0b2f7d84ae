/**
 * Leak checks: what keeps the process alive (sockets, servers, timers, file requests, ...), as
 * Node reports it in process.getActiveResourcesInfo(), counted by type.
 *
 * Compared as multisets, not as totals: a leaked server must not hide behind a timer that happened
 * to expire meanwhile.
 */

export type ResourceCounts = ReadonlyMap<string, number>;

/** The process's active resources, counted by type. */
export function activeResources(): ResourceCounts {
  const counts = new Map<string, number>();
  for (const type of process.getActiveResourcesInfo())
    counts.set(type, (counts.get(type) ?? 0) + 1);
  return counts;
}

/**
 * The active resources once the event loop has gone round once: a handle closed just before is
 * released in the close-callbacks phase, after setImmediate callbacks but before the next timer.
 */
export async function settledResources(): Promise<ResourceCounts> {
  await new Promise((resolve) => setTimeout(resolve, 0));
  return activeResources();
}

/** What `after` holds beyond `before`, as `Type ×n` (empty when nothing was left behind). */
export function resourcesLeaked(before: ResourceCounts, after: ResourceCounts): string[] {
  const leaked: string[] = [];
  for (const [type, n] of after) {
    const extra = n - (before.get(type) ?? 0);
    if (extra > 0) leaked.push(`${type} ×${extra}`);
  }
  return leaked.sort();
}

/** A readable form for assertion messages. */
export function formatResources(counts: ResourceCounts): string {
  return [...counts].map(([type, n]) => `${type} ×${n}`).join(', ') || '(none)';
}
