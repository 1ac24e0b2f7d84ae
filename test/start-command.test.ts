/**
 * `tributary start` as an operator meets it: a bad config names the key and the reason and exits
 * non-zero; a config file in server.properties format is read, overrides win over it.
 */
import { strict as assert } from 'node:assert';
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { repoRoot } from '../src/testing/broker-process.ts';

const run = promisify(execFile);
const bin = join(repoRoot(), 'bin', 'tributary.js');

async function startFails(args: string[]): Promise<{ code: number; stderr: string }> {
  try {
    await run(process.execPath, [bin, 'start', ...args], { timeout: 20_000 });
  } catch (err) {
    const e = err as { code?: number; stderr?: string };
    return { code: e.code ?? -1, stderr: e.stderr ?? '' };
  }
  throw new Error('start should have failed');
}

test('a bad config value names the key and the reason, and exits 1', async () => {
  const bad = await startFails(['--override', 'num.partitions=three']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /num\.partitions/);
  assert.match(bad.stderr, /integer/);
  const listener = await startFails(['--override', 'listeners=localhost:9092']);
  assert.equal(listener.code, 1);
  assert.match(listener.stderr, /listeners.*NAME:\/\/host:port/);
  const missing = await startFails(['--config', '/nonexistent/server.properties']);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /server\.properties/);
});

test('a server.properties file is read and --override wins over it; SIGUSR2 prints request times', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tributary-config-'));
  const file = join(dir, 'server.properties');
  await writeFile(file, ['# Kafka-style config', 'num.partitions=5', 'broker.id=7', ''].join('\n'));
  const child = spawn(process.execPath, [
    bin,
    'start',
    '--config',
    file,
    '--override',
    'broker.id=3',
    '--override',
    'listeners=PLAINTEXT://127.0.0.1:0',
    '--override',
    `log.dirs=${join(dir, 'data')}`,
  ]);
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += String(d);
  });
  const printed = (re: RegExp) =>
    new Promise<string>((resolve, reject) => {
      const check = () => {
        if (re.test(out)) resolve(out);
        else if (child.exitCode !== null) reject(new Error(`exited ${child.exitCode}`));
        else setTimeout(check, 20);
      };
      check();
    });
  try {
    const ready = await printed(/\n/);
    assert.match(ready, /node 3/, 'the override wins over the file');
    const port = Number(/127\.0\.0\.1:(\d+)/.exec(ready)?.[1]);
    const { stdout } = await run('kcat', ['-b', `127.0.0.1:${port}`, '-L', '-t', 'from-file'], {
      timeout: 20_000,
    });
    assert.match(
      stdout,
      /topic "from-file" with 5 partitions/,
      'num.partitions came from the file',
    );
    // SIGUSR2: time per request by API since the start (kcat -L sent ApiVersions and Metadata).
    child.kill('SIGUSR2');
    const times = await printed(/request time Metadata: n=\d+ p50=[\d.]+ p99=/);
    assert.match(times, /request time ApiVersions: n=\d+/);
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    await rm(dir, { recursive: true, force: true });
  }
});
