/**
 * `tributary start` as an operator meets it: a bad config names the key and the reason and exits
 * non-zero; a setting the broker does not implement where ignoring it would change safety or
 * topology stops the start on one line naming the key; other ignored settings are listed once;
 * a config file in server.properties format is read, overrides win over it.
 */
import { strict as assert } from 'node:assert';
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { repoRoot } from '../src/testing/broker-process.ts';

const run = promisify(execFile);
const bin = join(repoRoot(), 'bin', 'tributary.js');

async function startFails(
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    await run(process.execPath, [bin, 'start', ...args], { timeout: 20_000 });
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
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

test('a listener with a security protocol, or zookeeper.connect, stops the start on one line naming the key', async () => {
  const cases = [
    [
      'listeners=SASL_SSL://127.0.0.1:9093',
      /^tributary: Configuration listeners is not supported yet: .*SASL_SSL/,
    ],
    [
      'zookeeper.connect=127.0.0.1:2181',
      /^tributary: Configuration zookeeper\.connect is not supported yet: /,
    ],
  ] as const;
  for (const [override, message] of cases) {
    const dir = await mkdtemp(join(tmpdir(), 'tributary-refused-'));
    try {
      const refused = await startFails([
        '--override',
        override,
        '--override',
        `log.dirs=${join(dir, 'data')}`,
      ]);
      assert.equal(refused.code, 1, override);
      assert.match(refused.stderr, message);
      assert.equal(refused.stderr.trimEnd().split('\n').length, 1, `one line: ${refused.stderr}`);
      assert.equal(refused.stdout, '', 'never ready');
      assert.equal(existsSync(join(dir, 'data')), false, 'nothing was started');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
});

test('settings accepted and ignored are listed once on stderr at start', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tributary-ignored-'));
  const child = spawn(process.execPath, [
    bin,
    'start',
    ...['--override', 'listeners=PLAINTEXT://127.0.0.1:0'],
    ...['--override', `log.dirs=${join(dir, 'data')}`],
    ...['--override', 'queued.max.requests=100'],
    ...['--override', 'num.network.threads=3'],
  ]);
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => {
    out += String(d);
  });
  child.stderr.on('data', (d: Buffer) => {
    err += String(d);
  });
  try {
    await until(
      () => out.includes('\n'),
      () => child.exitCode !== null,
    );
    assert.match(out, /^tributary ready: /);
    const lines = err.split('\n').filter((l) => l.includes('Ignoring configuration'));
    assert.deepEqual(lines, [
      'Ignoring configuration: queued.max.requests (accepted for compatibility, not implemented); num.network.threads (not a known config)',
    ]);
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    await rm(dir, { recursive: true, force: true });
  }
});

/** Resolves once `done()`; rejects when `failed()` first (the process exited). */
function until(done: () => boolean, failed: () => boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = () => {
      if (done()) resolve();
      else if (failed()) reject(new Error('the broker exited before it was ready'));
      else setTimeout(check, 20);
    };
    check();
  });
}

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
