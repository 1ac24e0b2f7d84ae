/**
 * The package installs into another project from a packed tarball (`npm pack`) and works there as
 * docs/embedding.md shows: the ESM import with its types, an embedded broker, and the bin.
 */
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));

const USE = `
import { startBroker } from 'tributary';
const broker = await startBroker();
await broker.createTopic('packed', { partitions: 1 });
await broker.produce('packed', [{ key: 'k', value: 'from the tarball' }]);
const [record] = await broker.records('packed');
console.log(JSON.stringify({ bootstrap: broker.bootstrapServers, value: String(record.value) }));
await broker.stop();
`;

test('npm pack, install into a fresh project, import and run', { timeout: 180_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tributary-pack-'));
  try {
    // The tests run against build/, which is already compiled: skip prepare's second compile.
    await run('npm', ['pack', '--ignore-scripts', '--pack-destination', dir], { cwd: root });
    const tarball = (await readdir(dir)).find((f) => f.endsWith('.tgz'));
    assert.ok(tarball !== undefined, 'npm pack wrote a tarball');
    // Unit tests live beside the code in src/: none of them, nor the test doubles, may ship.
    const listed = await run('tar', ['tzf', join(dir, tarball)]);
    const shipped = listed.stdout.split('\n').filter((f) => f !== '');
    assert.ok(
      shipped.some((f) => f.endsWith('build/src/index.js')),
      'the build ships',
    );
    assert.deepEqual(
      shipped.filter((f) => /\.test\.|\/testing\//.test(f)),
      [],
      'no tests or test doubles ship',
    );
    const app = join(dir, 'app');
    await run('mkdir', ['-p', app]);
    await writeFile(
      join(app, 'package.json'),
      JSON.stringify({ name: 'app', type: 'module', private: true }),
    );
    await run(
      'npm',
      ['install', '--prefer-offline', '--no-audit', '--no-fund', join(dir, tarball)],
      {
        cwd: app,
        timeout: 150_000,
      },
    );
    await writeFile(join(app, 'use.mjs'), USE);
    const { stdout } = await run(process.execPath, ['use.mjs'], { cwd: app, timeout: 30_000 });
    const out = JSON.parse(stdout.trim()) as { bootstrap: string; value: string };
    assert.match(out.bootstrap, /^127\.0\.0\.1:\d+$/);
    assert.equal(out.value, 'from the tarball');
    const types = await readdir(join(app, 'node_modules', 'tributary', 'build', 'src'));
    assert.ok(types.includes('index.d.ts'), 'declaration files ship');
    assert.ok(!types.includes('testing'), 'test doubles do not ship');
    const help = await run(join(app, 'node_modules', '.bin', 'tributary'), ['--help'], {
      cwd: app,
    });
    assert.match(help.stdout, /tributary start/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
