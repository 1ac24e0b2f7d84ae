/**
 * Summarises a V8 .cpuprofile (written by `node --cpu-prof`): self time per function, summed
 * over every node of the call tree with the same name and location.
 */
import { readFile } from 'node:fs/promises';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface SelfTime {
  readonly fn: string;
  readonly where: string;
  readonly ms: number;
  /** Share of the busy (not idle) samples. */
  readonly percent: number;
}

export interface ProfileSummary {
  readonly totalMs: number;
  readonly idleMs: number;
  readonly top: readonly SelfTime[];
}

function shortUrl(url: string): string {
  const i = url.lastIndexOf('/src/');
  if (i >= 0) return url.slice(i + 1);
  if (url.startsWith('node:')) return url;
  return url === '' ? '(native)' : (url.split('/').pop() ?? url);
}

export async function topSelfTime(path: string, top: number): Promise<ProfileSummary> {
  const p = JSON.parse(await readFile(path, 'utf8')) as CpuProfile;
  const byId = new Map<number, ProfileNode>();
  for (const n of p.nodes) byId.set(n.id, n);
  const self = new Map<string, number>();
  let total = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const node = byId.get(p.samples[i] as number);
    const dt = p.timeDeltas[i] ?? 0;
    if (node === undefined) continue;
    const f = node.callFrame;
    const key = `${f.functionName || '(anonymous)'}\t${shortUrl(f.url)}:${f.lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + dt);
    total += dt;
  }
  const idleKey = [...self.keys()].find((k) => k.startsWith('(idle)\t'));
  const idle = idleKey === undefined ? 0 : (self.get(idleKey) ?? 0);
  if (idleKey !== undefined) self.delete(idleKey);
  const busy = total - idle;
  const list = [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([key, us]) => {
      const [fn, where] = key.split('\t');
      return { fn: fn ?? '', where: where ?? '', ms: us / 1000, percent: (100 * us) / busy };
    });
  return { totalMs: total / 1000, idleMs: idle / 1000, top: list };
}
