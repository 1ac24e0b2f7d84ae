/**
 * The client's side of ZooKeeper's one-shot watches (ZKWatchManager): which watchers wait on
 * which path, by kind, so that an event reaches exactly the watchers it triggers and each of them
 * once, and so that after a reconnect the client can tell the server (SetWatches) what it still
 * waits for. Paths are the client's (chroot stripped).
 */
import type { WatchEvent, WatchEventType, Watcher } from '../coordination.ts';

export type WatchKind = 'data' | 'exist' | 'child';

/** Which kinds of watch each event type triggers (ZooKeeper's WatchManager rules). */
const TRIGGERED: Record<WatchEventType, readonly WatchKind[]> = {
  created: ['data', 'exist'],
  dataChanged: ['data', 'exist'],
  deleted: ['data', 'exist', 'child'],
  childrenChanged: ['child'],
};

export class WatchRegistry {
  readonly #byKind: Record<WatchKind, Map<string, Set<Watcher>>> = {
    data: new Map(),
    exist: new Map(),
    child: new Map(),
  };

  add(kind: WatchKind, path: string, watcher: Watcher): void {
    const watchers = this.#byKind[kind];
    let set = watchers.get(path);
    if (set === undefined) {
      set = new Set();
      watchers.set(path, set);
    }
    set.add(watcher);
  }

  /** Removes and returns the watchers an event triggers, each once. */
  take(event: WatchEvent): Set<Watcher> {
    const triggered = new Set<Watcher>();
    for (const kind of TRIGGERED[event.type]) {
      const set = this.#byKind[kind].get(event.path);
      if (set === undefined) continue;
      this.#byKind[kind].delete(event.path);
      for (const watcher of set) triggered.add(watcher);
    }
    return triggered;
  }

  paths(kind: WatchKind): string[] {
    return [...this.#byKind[kind].keys()];
  }

  get size(): number {
    return this.#byKind.data.size + this.#byKind.exist.size + this.#byKind.child.size;
  }

  clear(): void {
    for (const map of Object.values(this.#byKind)) map.clear();
  }
}

/** Calls each watcher, so that one that throws does not keep the event from the others. */
export function deliver(watchers: Iterable<Watcher>, event: WatchEvent): void {
  for (const watcher of watchers) {
    try {
      watcher(event);
    } catch (error) {
      queueMicrotask(() => {
        throw error;
      });
    }
  }
}
