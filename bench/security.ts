/**
 * The cost of TLS and SASL: one broker process with a PLAINTEXT, an SSL and a SASL_SSL listener
 * (SCRAM-SHA-512), driven by librdkafka (bench/kafka_client.py, a separate process) through each
 * in turn, interleaved over the repetitions: a producer (100-byte records, acks=1, one
 * partition) and then a consumer reading them back. Reported per listener: records/s, MB/s,
 * broker CPU µs per record (user + system time from /proc) and the client's CPU µs per record.
 *
 *   npx tsc -p . && node build/bench/security.js [--records 1000000] [--reps 3]
 *
 * The figures go to docs/bench/security-latest.json; docs/benchmarks.md keeps them with this
 * command.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Admin } from '../src/admin/index.ts';
import { alterScramUser } from '../src/admin/quotas.ts';
import { makeTestCerts } from '../src/testing/certs.ts';
import {
  BrokerProcess,
  cpuSplit,
  type DriverOut,
  driver,
  freePort,
  killAll,
  loadAverage,
  median,
  ROOT,
} from './broker/proc.ts';

const { values: opts } = parseArgs({
  options: {
    records: { type: 'string', default: '1000000' },
    reps: { type: 'string', default: '3' },
    out: { type: 'string', default: join(ROOT, 'docs', 'bench', 'security-latest.json') },
  },
});
const RECORDS = Number(opts.records);
const REPS = Number(opts.reps);
const SIZE = 100;

interface Measured {
  readonly recordsPerSecond: number;
  readonly mbPerSecond: number;
  readonly brokerCpuUsPerRecord: number;
  readonly clientCpuUsPerRecord: number;
}

function cpuNow(pid: number): number {
  const c = cpuSplit(pid);
  return c.user + c.sys;
}

function measured(out: DriverOut, brokerCpuSeconds: number): Measured {
  const records = Number(out.records);
  const seconds = Number(out.end) - Number(out.start);
  return {
    recordsPerSecond: records / seconds,
    mbPerSecond: Number(out.bytes) / seconds / 1e6,
    brokerCpuUsPerRecord: (brokerCpuSeconds / records) * 1e6,
    clientCpuUsPerRecord: (Number(out.cpu) / records) * 1e6,
  };
}

async function main(): Promise<void> {
  const certs = await makeTestCerts();
  const dataDir = await mkdtemp(join(tmpdir(), 'tributary-bench-security-'));
  const [plain, ssl, saslSsl] = [await freePort(), await freePort(), await freePort()];
  const broker = await BrokerProcess.start({
    port: plain,
    logDir: dataDir,
    overrides: [
      `listeners=PLAINTEXT://127.0.0.1:${plain},SSL://127.0.0.1:${ssl},SASL_SSL://127.0.0.1:${saslSsl}`,
      'inter.broker.listener.name=PLAINTEXT',
      'ssl.keystore.type=PEM',
      `ssl.keystore.location=${certs.serverPem}`,
      'sasl.enabled.mechanisms=SCRAM-SHA-512',
    ],
  });
  const admin = new Admin({ bootstrapServers: [broker.bootstrap] });
  const load0 = loadAverage();
  try {
    await alterScramUser(admin.client, 'bench', 'SCRAM-SHA-512', 'bench-secret');
    const tls = ['security.protocol=SSL', `ssl.ca.location=${certs.caPem}`];
    const listeners = [
      { name: 'PLAINTEXT', bootstrap: `127.0.0.1:${plain}`, config: [] as string[] },
      { name: 'SSL', bootstrap: `127.0.0.1:${ssl}`, config: tls },
      {
        name: 'SASL_SSL (SCRAM-SHA-512)',
        bootstrap: `127.0.0.1:${saslSsl}`,
        config: [
          'security.protocol=SASL_SSL',
          `ssl.ca.location=${certs.caPem}`,
          'sasl.mechanisms=SCRAM-SHA-512',
          'sasl.username=bench',
          'sasl.password=bench-secret',
        ],
      },
    ];
    const results = new Map<string, { produce: Measured[]; consume: Measured[] }>();
    for (const l of listeners) results.set(l.name, { produce: [], consume: [] });
    for (let rep = 0; rep < REPS; rep++) {
      for (const l of listeners) {
        const topic = `security-${rep}-${l.name.replace(/\W+/g, '-').toLowerCase()}`;
        const base = { bootstrap: l.bootstrap, topic, 'client-config': l.config };
        await driver('create', { ...base, partitions: 1 }).result;
        let cpu0 = cpuNow(broker.pid);
        const produced = await driver('produce', {
          ...base,
          partitions: 1,
          size: SIZE,
          acks: '1',
          count: RECORDS,
        }).result;
        const p = measured(produced, cpuNow(broker.pid) - cpu0);
        cpu0 = cpuNow(broker.pid);
        const consumed = await driver('consume', { ...base, partitions: 1, count: RECORDS }).result;
        const c = measured(consumed, cpuNow(broker.pid) - cpu0);
        results.get(l.name)?.produce.push(p);
        results.get(l.name)?.consume.push(c);
        console.log(
          `rep ${rep} ${l.name}: produce ${Math.round(p.recordsPerSecond)} records/s (${p.brokerCpuUsPerRecord.toFixed(2)} µs broker CPU), consume ${Math.round(c.recordsPerSecond)} records/s (${c.brokerCpuUsPerRecord.toFixed(2)} µs)`,
        );
      }
    }
    const row = (name: string, kind: string, ms: readonly Measured[]) => {
      const m = (k: keyof Measured) => median(ms.map((x) => x[k]));
      return `| ${name} | ${kind} | ${Math.round(m('recordsPerSecond')).toLocaleString('en-US')} | ${m('mbPerSecond').toFixed(1)} | ${m('brokerCpuUsPerRecord').toFixed(2)} | ${m('clientCpuUsPerRecord').toFixed(2)} |`;
    };
    console.log(
      `\n| listener | direction (median of ${REPS}) | records/s | MB/s | broker CPU µs/record | client CPU µs/record |`,
    );
    console.log('| --- | --- | ---: | ---: | ---: | ---: |');
    for (const [name, r] of results) {
      console.log(row(name, 'produce', r.produce));
      console.log(row(name, 'consume', r.consume));
    }
    const load1 = loadAverage();
    console.log(`load average ${load0} at the start, ${load1} at the end`);
    writeFileSync(
      opts.out,
      `${JSON.stringify(
        {
          date: new Date().toISOString(),
          records: RECORDS,
          size: SIZE,
          reps: REPS,
          loadAverage: [load0, load1],
          cpus: readFileSync('/proc/cpuinfo', 'utf8').match(/^processor/gm)?.length,
          results: Object.fromEntries(results),
        },
        null,
        2,
      )}\n`,
    );
    console.log(`written to ${opts.out}`);
  } finally {
    await admin.close();
    await broker.stop();
    await rm(dataDir, { recursive: true, force: true });
    await rm(certs.dir, { recursive: true, force: true });
    killAll();
  }
}

await main();
