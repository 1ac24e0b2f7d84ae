/**
 * The broker benchmark's outputs: the targets of issue 7 judged on one report, a plain-text table
 * on stdout, and an SVG bar chart written by hand (no dependencies).
 */
import type { BenchReport, ScenarioRun, VersusKafka } from './types.ts';

export interface TargetCheck {
  readonly target: string;
  readonly measured: string;
  readonly holds: boolean;
}

function f(n: number, digits = 0): string {
  if (!Number.isFinite(n)) return 'n/a';
  return n.toLocaleString('en-US', {
    maximumFractionDigits: digits,
    minimumFractionDigits: digits,
  });
}

function pct(x: number): string {
  return `${f(100 * x)}%`;
}

function lowest<T>(xs: readonly T[], key: (x: T) => number): T | undefined {
  let out: T | undefined;
  for (const x of xs) if (out === undefined || key(x) < key(out)) out = x;
  return out;
}

export function targets(r: BenchReport): TargetCheck[] {
  const out: TargetCheck[] = [];
  const p = (size: number, parts: number, acks: string) =>
    r.produce.find(
      (x) => x.size === size && x.partitions === parts && x.acks === acks && x.producers === 1,
    );
  const single = r.produce.filter((x) => x.producers === 1 && x.acks !== '0');
  const worst = lowest(single, (x) => x.cpuKeepUp);
  const worstWall = lowest(single, (x) => x.keepUp);
  if (worst !== undefined && worstWall !== undefined) {
    out.push({
      target:
        'produce: broker keeps up with one client (broker rec per CPU-s >= 80% of the client)',
      measured: `lowest ${pct(worst.cpuKeepUp)} (${worst.name}); wall-clock: lowest ${pct(worstWall.keepUp)} of the client alone (${worstWall.name})`,
      holds: single.every((x) => x.cpuKeepUp >= 0.8),
    });
  }
  const worstC = lowest(r.consume, (x) => x.cpuKeepUp);
  if (worstC !== undefined) {
    out.push({
      target:
        'consume: broker keeps up with one client (broker rec per CPU-s >= 80% of the client)',
      measured: `lowest ${pct(worstC.cpuKeepUp)} (${worstC.name})`,
      holds: r.consume.every((x) => x.cpuKeepUp >= 0.8),
    });
  }
  const base = p(100, 1, '1');
  const redis = r.peers.find((x) => x.name.includes('Redis') && x.name.includes('no persistence'));
  if (base !== undefined && redis !== undefined) {
    const ratio = base.brokerCpuUsPerRecord / redis.serverCpuUsPerRecord;
    out.push({
      target: 'broker CPU per record (100 B, acks=1) <= 0.3 x Redis CPU per XADD',
      measured: `${f(base.brokerCpuUsPerRecord, 3)} us vs ${f(redis.serverCpuUsPerRecord, 3)} us = ${f(ratio, 2)}x`,
      holds: ratio <= 0.3,
    });
  }
  const disk = r.ceilings.find((c) => c.name.startsWith('disk: sequential write,'));
  const k1 = p(1024, 1, '1');
  const k8 = p(1024, 8, '1');
  if (disk !== undefined && k1 !== undefined && k8 !== undefined) {
    const best = Math.max(k1.mbPerSec, k8.mbPerSec);
    out.push({
      target: 'produce 1 KiB, acks=1 >= 40% of the sequential-write ceiling',
      measured: `${f(best)} MB/s vs ${f(disk.mbPerSec)} MB/s = ${pct(best / disk.mbPerSec)}`,
      holds: best >= 0.4 * disk.mbPerSec,
    });
  }
  const ratios = r.produce
    .filter((x) => x.acks === 'all')
    .map((x) => {
      const one = p(x.size, x.partitions, '1');
      return { name: x.name, ratio: one === undefined ? Number.NaN : x.recPerSec / one.recPerSec };
    });
  if (ratios.length > 0) {
    const lo = ratios.reduce((a, b) => (b.ratio < a.ratio ? b : a));
    out.push({
      target: 'acks=all (group commit) >= 70% of acks=1',
      measured: `lowest ${pct(lo.ratio)} (${lo.name})`,
      holds: ratios.every((x) => x.ratio >= 0.7),
    });
  }
  out.push({
    target: 'end-to-end p99 < 5 ms at half of peak',
    measured: `p99 ${f(r.latency.p99Ms, 2)} ms at ${f(r.latency.achievedRate)} rec/s; ${f(r.latencyLow.p99Ms, 2)} ms at ${f(r.latencyLow.achievedRate)} rec/s, where a bare loopback echo has ${f(r.echo.p99Ms, 2)} ms`,
    holds: r.latency.p99Ms < 5,
  });
  out.push({
    target: 'RSS < 300 MiB at peak produce',
    measured: `${f(r.brokerPeakRssMiB)} MiB (VmHWM)`,
    holds: r.brokerPeakRssMiB < 300,
  });
  const wideRss = Math.max(r.wide.rssMiBAfterCreate, r.wide.rssMiBAfterRestart);
  out.push({
    target: 'RSS < 1 GiB with 10,000 partitions',
    measured: `${f(wideRss)} MiB`,
    holds: wideRss < 1024,
  });
  return out;
}

function table(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join(' | ')} |`;
  const sep = `| ${widths.map((w, i) => (i === 0 ? '-'.repeat(w) : `${'-'.repeat(w - 1)}:`)).join(' | ')} |`;
  return [line(head), sep, ...rows.map(line)].join('\n');
}

/** Markdown tables of the whole report (what docs/benchmarks.md quotes). */
export function markdown(r: BenchReport): string {
  const m = r.machine;
  const parts: string[] = [];
  parts.push(
    `${r.date}, \`${r.command}\`, ${r.reps} rep(s), medians. Node ${m.node}, ${m.cpus} x ${m.cpuModel}; load average ${f(m.loadAverageStart, 1)} at start, ${f(m.loadAverageEnd, 1)} at end; ${f(r.seconds)} s.`,
  );
  const rows: (ScenarioRun & { name: string; keepUp: number; alone?: number })[] = [
    ...r.produce.map((p) => ({ ...p, alone: p.clientAloneRecPerSec })),
    ...r.consume,
  ];
  const tp = rows.map((x) => [
    x.name,
    f(x.recPerSec),
    f(x.mbPerSec, 1),
    x.alone === undefined ? '' : f(x.alone),
    f(x.clientCpuRecPerSec),
    pct(x.keepUp),
    pct(x.cpuKeepUp),
    f(x.brokerCpuUsPerRecord, 3),
    pct(x.brokerSysShare),
    f(x.brokerCpuMsPerMB, 2),
  ]);
  parts.push(
    table(
      [
        'scenario',
        'rec/s',
        'MB/s',
        'client alone rec/s',
        'rec per client CPU-s',
        'keep-up (wall)',
        'keep-up (CPU)',
        'broker CPU us/rec',
        'broker sys %',
        'broker CPU ms/MB',
      ],
      tp,
    ),
  );
  const ceil = r.ceilings.map((c) => [c.name, f(c.mbPerSec)]);
  const peers = r.peers.map((p) => [
    `${p.name} (${p.size} B)`,
    `${f(p.recPerSec)} rec/s, ${f(p.mbPerSec, 1)} MB/s, server CPU ${f(p.serverCpuUsPerRecord, 3)} us/rec, RSS ${f(p.serverRssMiB)} MiB`,
  ]);
  parts.push(
    table(
      ['ceiling / peer', 'figure'],
      [...ceil.map((c) => [c[0] ?? '', `${c[1]} MB/s`]), ...peers],
    ),
  );
  const lat = (l: BenchReport['latency']) => [
    l.name,
    `p50 ${f(l.p50Ms, 2)} ms, p99 ${f(l.p99Ms, 2)} ms, p99.9 ${f(l.p999Ms, 2)} ms, max ${f(l.maxMs, 1)} ms; achieved ${f(l.achievedRate)} rec/s; producer ${pct(l.producerBusy)}, consumer ${pct(l.consumerBusy)} of a core${
      l.brokerProduceMs === undefined
        ? ''
        : `; the broker's own Produce time p50/p99/p99.9 ${l.brokerProduceMs
            .slice(0, 3)
            .map((x) => f(x, 2))
            .join(' / ')} ms`
    }`,
  ];
  const w = r.wide;
  parts.push(
    table(
      ['other', 'figure'],
      [
        lat(r.latency),
        lat(r.latencySplit),
        ...(r.latencySplit.split === undefined
          ? []
          : [
              [
                'the same, split at the broker append (LogAppendTime, ms resolution)',
                `producer -> broker p50/p99/p99.9 ${r.latencySplit.split.toBrokerMs.map((x) => f(x, 1)).join(' / ')} ms; broker -> consumer ${r.latencySplit.split.fromBrokerMs.map((x) => f(x, 1)).join(' / ')} ms`,
              ],
            ]),
        lat(r.latencyLow),
        [
          r.echo.name,
          `p50 ${f(r.echo.p50Ms, 2)} ms, p99 ${f(r.echo.p99Ms, 2)} ms, p99.9 ${f(r.echo.p999Ms, 2)} ms, max ${f(r.echo.maxMs, 1)} ms (round trip)`,
        ],
        ['broker RSS at peak produce (VmHWM)', `${f(r.brokerPeakRssMiB)} MiB`],
        [
          `${r.idle.connections} idle connections`,
          `RSS ${f(r.idle.rssBeforeMiB)} -> ${f(r.idle.rssAfterMiB)} MiB (${f(((r.idle.rssAfterMiB - r.idle.rssBeforeMiB) * 1024) / r.idle.connections, 1)} KiB each)`,
        ],
        [
          w.name,
          `create ${f(w.createSeconds, 1)} s; restart to ready ${f(w.startupMs)} ms; Metadata ${f(w.metadataMs)} ms; RSS ${f(w.rssMiBAfterCreate)} MiB after create, ${f(w.rssMiBAfterRestart)} MiB after restart`,
        ],
        [
          'restart before the disk reads',
          `${f(r.restartMs)} ms to ready; page cache dropped: ${r.pageCacheDropped ? 'yes' : 'no'}`,
        ],
      ],
    ),
  );
  parts.push(
    table(
      ['target', 'measured', 'holds'],
      targets(r).map((t) => [t.target, t.measured, t.holds ? 'yes' : 'no']),
    ),
  );
  if (r.versusKafka !== null) parts.push(versusMarkdown(r.versusKafka));
  if (r.notes.length > 0) parts.push(r.notes.map((n) => `- ${n}`).join('\n'));
  if (r.profile !== null) {
    const s = r.profile.summary;
    parts.push(
      `Profile (${r.profile.scenario}, broker under --cpu-prof, ${f(r.profile.run.recPerSec)} rec/s): ${f(s.totalMs)} ms sampled, ${f(s.idleMs)} ms idle; top self time (% of busy):\n\n${table(
        ['function', 'where', 'self ms', '% busy'],
        s.top.map((t) => [t.fn, t.where, f(t.ms), f(t.percent, 1)]),
      )}`,
    );
  }
  return parts.join('\n\n');
}

/**
 * Tributary beside Apache Kafka: each figure of both, the ratio Tributary / Kafka, and which is
 * ahead (by the metric's direction; within 5% is a tie).
 */
export function versusMarkdown(v: VersusKafka): string {
  const head = `${v.date}, \`${v.command}\`, ${v.reps} rep(s), medians; Apache Kafka ${v.kafkaVersion} (KRaft, one node); load average ${f(v.loadAverageStart, 1)} at start, ${f(v.loadAverageEnd, 1)} at end; ${f(v.seconds)} s.`;
  const rows = v.rows.map((r) => {
    const ratio = r.tributary / r.kafka;
    const better = r.better === 'higher' ? ratio : 1 / ratio;
    const ahead = !Number.isFinite(better)
      ? 'n/a'
      : better > 1.05
        ? 'Tributary'
        : better < 1 / 1.05
          ? 'Kafka'
          : 'tie';
    const digits = (x: number) => (Math.abs(x) < 10 ? 2 : 0);
    return [
      r.scenario,
      `${r.metric} (${r.unit}, ${r.better} is better)`,
      f(r.tributary, digits(r.tributary)),
      f(r.kafka, digits(r.kafka)),
      `${f(ratio, 2)}x`,
      ahead,
    ];
  });
  const notes = v.notes.map((n) => `- ${n}`).join('\n');
  return [
    head,
    table(['scenario', 'metric', 'Tributary', 'Kafka', 'Tributary / Kafka', 'ahead'], rows),
    notes,
  ]
    .filter((x) => x !== '')
    .join('\n\n');
}

export function printTable(r: BenchReport): void {
  process.stdout.write(`${markdown(r)}\n`);
}

interface Bar {
  readonly label: string;
  readonly value: number;
  readonly kind: 'tributary' | 'ceiling' | 'peer';
}

const COLOURS = { tributary: '#2f6db5', ceiling: '#9a9a9a', peer: '#d08a2c' } as const;

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function panel(title: string, unit: string, bars: readonly Bar[], y0: number): string[] {
  const labelW = 360;
  const barW = 440;
  const rowH = 20;
  const max = Math.max(...bars.map((b) => b.value), 1e-9);
  const out = [`<text x="10" y="${y0 + 16}" font-weight="bold">${esc(title)}</text>`];
  bars.forEach((b, i) => {
    const y = y0 + 28 + i * rowH;
    const w = Math.max(1, (b.value / max) * barW);
    out.push(
      `<text x="${labelW - 6}" y="${y + 13}" text-anchor="end">${esc(b.label)}</text>`,
      `<rect x="${labelW}" y="${y + 2}" width="${w.toFixed(1)}" height="${rowH - 6}" fill="${COLOURS[b.kind]}"/>`,
      `<text x="${(labelW + w + 4).toFixed(1)}" y="${y + 13}">${esc(f(b.value, b.value < 10 ? 2 : 0))} ${unit}</text>`,
    );
  });
  return out;
}

/** A two-panel horizontal bar chart: throughput in MB/s, and server CPU per record. */
export function renderSvg(r: BenchReport): string {
  const mb: Bar[] = [
    ...r.ceilings.map((c) => ({ label: c.name, value: c.mbPerSec, kind: 'ceiling' as const })),
    ...r.produce.map((p) => ({ label: p.name, value: p.mbPerSec, kind: 'tributary' as const })),
    ...r.consume.map((c) => ({ label: c.name, value: c.mbPerSec, kind: 'tributary' as const })),
    ...r.peers.map((p) => ({ label: p.name, value: p.mbPerSec, kind: 'peer' as const })),
  ];
  const cpu: Bar[] = [
    ...r.produce
      .filter((p) => p.size === 100)
      .map((p) => ({ label: p.name, value: p.brokerCpuUsPerRecord, kind: 'tributary' as const })),
    ...r.peers.map((p) => ({
      label: p.name,
      value: p.serverCpuUsPerRecord,
      kind: 'peer' as const,
    })),
  ];
  const h1 = 28 + mb.length * 20 + 20;
  const h2 = 28 + cpu.length * 20 + 20;
  const height = 40 + h1 + h2 + 10;
  const body = [
    `<text x="10" y="20" font-size="14" font-weight="bold">${esc(`Tributary broker benchmark, ${r.date.slice(0, 10)}: ${r.command}, medians of ${r.reps}`)}</text>`,
    ...panel('Throughput (MB/s, 1 MB = 10^6 bytes of record values)', 'MB/s', mb, 30),
    ...panel(
      'Server CPU per record, 100 B records (microseconds, lower is better)',
      'us',
      cpu,
      30 + h1,
    ),
  ];
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="920" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}
