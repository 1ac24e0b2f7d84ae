/**
 * How big __consumer_offsets stays while a group commits for a long time (issue 19): one broker
 * process with the default segment size of __consumer_offsets (100 MiB) or --segment-bytes, one
 * confluent-kafka group member committing every --interval-ms ms (100 by default) on --partitions
 * partitions for --seconds (600 by default); every 10 s the size of the .log files of
 * __consumer_offsets is sampled. Afterwards the committed offsets are read back, before and after
 * a restart of the broker. Prints the samples and a summary line.
 *
 *   npx tsc -p . && node build/bench/offsets-bound.js [--seconds 600] [--interval-ms 100]
 *       [--partitions 3] [--segment-bytes 1048576]
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { BrokerProcess, repoRoot, runOk } from '../src/testing/broker-process.ts';
import { runPython, spawnPython } from '../src/testing/clients.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '600' },
    'interval-ms': { type: 'string', default: '100' },
    partitions: { type: 'string', default: '3' },
    'segment-bytes': { type: 'string', default: '1048576' },
  },
});
const SECONDS = Number(values.seconds);
const PARTITIONS = Number(values.partitions);
const TOPIC = 'offsets-bench';
const GROUP = 'offsets-bench';

async function offsetsLogBytes(dataDir: string): Promise<{ bytes: number; segments: number }> {
  let bytes = 0;
  let segments = 0;
  for (const d of await readdir(dataDir)) {
    if (!d.startsWith('__consumer_offsets-')) continue;
    for (const n of await readdir(join(dataDir, d))) {
      if (!n.endsWith('.log')) continue;
      bytes += (await stat(join(dataDir, d, n)).catch(() => ({ size: 0 }))).size;
      segments++;
    }
  }
  return { bytes, segments };
}

async function committed(bootstrap: string): Promise<string> {
  const r = await runPython('offsets_committer.py', [
    'fetch',
    bootstrap,
    GROUP,
    TOPIC,
    String(PARTITIONS),
  ]);
  return r.stdout.toString().trim().split('\n').pop() ?? '';
}

const broker = await BrokerProcess.start({
  overrides: {
    'offsets.topic.segment.bytes': String(values['segment-bytes']),
    'group.initial.rebalance.delay.ms': '0',
  },
});
try {
  await runOk(process.execPath, [
    join(repoRoot(), 'bin', 'tributary.js'),
    'topics',
    'create',
    TOPIC,
    '--partitions',
    String(PARTITIONS),
    '--bootstrap-server',
    broker.bootstrap,
  ]);
  const member = spawnPython(
    'offsets_committer.py',
    [
      'commit',
      broker.bootstrap,
      GROUP,
      TOPIC,
      String(PARTITIONS),
      String(SECONDS),
      String(values['interval-ms']),
    ],
    { timeoutMs: (SECONDS + 120) * 1000 },
  );
  const started = Date.now();
  let max = 0;
  const sampler = setInterval(() => {
    void offsetsLogBytes(broker.dataDir).then((s) => {
      max = Math.max(max, s.bytes);
      const at = Math.round((Date.now() - started) / 1000);
      console.log(`${at} s: __consumer_offsets ${s.bytes} bytes in ${s.segments} segments`);
    });
  }, 10_000);
  const result = await member.done;
  clearInterval(sampler);
  const report = result.stdout.toString().trim().split('\n').pop() ?? '{}';
  const end = await offsetsLogBytes(broker.dataDir);
  const before = await committed(broker.bootstrap);
  await broker.restart({ samePort: true });
  const afterRestart = await committed(broker.bootstrap);
  console.log(
    `member: ${report}; largest sample ${max} bytes; at the end ${end.bytes} bytes in ${end.segments} segments; committed ${before}; after a restart ${afterRestart} (${before === afterRestart ? 'same' : 'DIFFERENT'})`,
  );
} finally {
  await broker.cleanup();
}
