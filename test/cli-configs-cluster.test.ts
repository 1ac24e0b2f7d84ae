/** `tributary configs ...` and `tributary cluster` against a broker child process. */
import { strict as assert } from 'node:assert';
import { after, before, describe, test } from 'node:test';
import { BrokerProcess, describeRun, type RunOptions, run } from '../src/testing/broker-process.ts';

const MAIN = new URL('../src/main.js', import.meta.url).href;
const SCRIPT = `const { main } = await import(${JSON.stringify(MAIN)});
await main(process.argv.slice(1));`;

function tributary(args: readonly string[], options: RunOptions = {}) {
  return run(process.execPath, ['--input-type=module', '-e', SCRIPT, ...args], options);
}

async function ok(args: readonly string[]) {
  const r = await tributary(args);
  assert.equal(r.code, 0, describeRun(r));
  return r;
}

interface ConfigsJson {
  resource: string;
  name: string;
  configs: { name: string; value: string | null; source: string; isDefault: boolean }[];
}

describe('tributary configs and cluster', () => {
  let broker: BrokerProcess;
  let b: string[];

  before(async () => {
    broker = await BrokerProcess.start();
    b = ['--bootstrap-server', broker.bootstrap];
    await ok(['topics', 'create', 'conf', '--partitions', '1', ...b]);
  });

  after(async () => {
    await broker?.cleanup();
  });

  test('a topic without overrides says so; --all lists the defaults', async () => {
    const r = await ok(['configs', 'describe', '--topic', 'conf', ...b]);
    assert.equal(
      r.stdout.toString(),
      'No config overrides for topic conf (--all shows the defaults).\n',
    );
    const all = await ok(['configs', 'describe', '--topic', 'conf', '--all', '--json', ...b]);
    const parsed = JSON.parse(all.stdout.toString()) as ConfigsJson;
    const retention = parsed.configs.find((c) => c.name === 'retention.ms');
    assert.ok(retention !== undefined, 'retention.ms is described');
    assert.equal(retention.isDefault, true);
  });

  test('alter --add-config and --delete-config, seen by describe', async () => {
    const set = await ok([
      'configs',
      'alter',
      '--topic',
      'conf',
      '--add-config',
      'retention.ms=3600000,cleanup.policy=[compact,delete]',
      '--add-config',
      'max.message.bytes=2000000',
      ...b,
    ]);
    assert.equal(set.stdout.toString(), 'Completed updating config for topic conf.\n');
    const table = await ok(['configs', 'describe', '--topic', 'conf', ...b]);
    const out = table.stdout.toString();
    assert.match(out, /^Configs for topic conf:$/m);
    assert.match(out, /^NAME +VALUE +SOURCE +READ-ONLY$/m);
    assert.match(out, /^cleanup\.policy +compact,delete +DYNAMIC_TOPIC_CONFIG +no$/m);
    assert.match(out, /^retention\.ms +3600000 +DYNAMIC_TOPIC_CONFIG +no$/m);
    await ok([
      'configs',
      'alter',
      '--topic',
      'conf',
      '--delete-config',
      'retention.ms,max.message.bytes',
      ...b,
    ]);
    const after = await ok(['configs', 'describe', '--topic', 'conf', '--json', ...b]);
    const parsed = JSON.parse(after.stdout.toString()) as ConfigsJson;
    assert.deepEqual(
      parsed.configs.map((c) => [c.name, c.value]),
      [['cleanup.policy', 'compact,delete']],
    );
  });

  test('broker configs; errors and usage', async () => {
    const r = await ok(['configs', 'describe', '--broker', '0', '--all', '--json', ...b]);
    const parsed = JSON.parse(r.stdout.toString()) as ConfigsJson;
    assert.equal(parsed.resource, 'broker');
    assert.ok(parsed.configs.length > 0);
    const bad = await tributary([
      'configs',
      'alter',
      '--topic',
      'conf',
      '--add-config',
      'retention.ms=soon',
      ...b,
    ]);
    assert.equal(bad.code, 1, describeRun(bad));
    assert.match(bad.stderr, /INVALID_CONFIG|INVALID_REQUEST/);
    const missing = await tributary(['configs', 'describe', '--topic', 'nope', ...b]);
    assert.equal(missing.code, 1, describeRun(missing));
    assert.match(missing.stderr, /UNKNOWN_TOPIC_OR_PARTITION/);
    for (const args of [
      ['configs', 'describe'],
      ['configs', 'describe', '--topic', 'conf', '--broker', '0'],
      ['configs', 'alter', '--topic', 'conf'],
      ['configs', 'alter', '--topic', 'conf', '--add-config', 'novalue'],
      ['configs', 'frob', '--topic', 'conf'],
      ['configs', 'describe', '--broker', 'zero'],
    ]) {
      const u = await tributary([...args, ...b]);
      assert.equal(u.code, 2, describeRun(u));
    }
  });

  test('cluster: id, controller, brokers and the versions in use', async () => {
    const r = await ok(['cluster', ...b]);
    const out = r.stdout.toString();
    assert.match(out, /^Cluster id: \S{22}$/m);
    assert.match(out, /^Controller: 0$/m);
    assert.match(out, new RegExp(`^0 +127\\.0\\.0\\.1 +${broker.port} +yes$`, 'm'));
    assert.match(out, /^KEY +API +BROKER VERSIONS +USED$/m);
    assert.match(out, /^0 +Produce +\d+-\d+ +\d+$/m);
    assert.match(out, /^18 +ApiVersions +0-\d+ +\d+$/m);
    const j = await ok(['cluster', '--json', ...b]);
    const parsed = JSON.parse(j.stdout.toString()) as {
      clusterId: string;
      controllerId: number;
      brokers: { nodeId: number; host: string; port: number }[];
      apis: { key: number; name: string; maxVersion: number; usedVersion: number }[];
    };
    assert.equal(parsed.controllerId, 0);
    assert.deepEqual(
      parsed.brokers.map((x) => [x.nodeId, x.host, x.port]),
      [[0, '127.0.0.1', broker.port]],
    );
    const fetch = parsed.apis.find((a) => a.name === 'Fetch');
    assert.ok(
      fetch !== undefined && fetch.usedVersion >= 4 && fetch.usedVersion <= fetch.maxVersion,
    );
  });
});
