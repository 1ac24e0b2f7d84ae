/**
 * The package installs into another project from a packed tarball (`npm pack`) and works there as
 * docs/embedding.md shows: the ESM import with its types, an embedded broker, and the bin:
 * `npx tributary start`, and `npx tributary console` serving its page with the stylesheet and
 * script that ship in the tarball.
 */
import { strict as assert } from 'node:assert';
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));

const USE = `
import { startBroker } from 'tributary-broker';
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
    for (const asset of CONSOLE_ASSETS) {
      assert.ok(shipped.includes(`package/src/console/static/${asset}`), `${asset} ships`);
    }
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
    const types = await readdir(join(app, 'node_modules', 'tributary-broker', 'build', 'src'));
    assert.ok(types.includes('index.d.ts'), 'declaration files ship');
    assert.ok(!types.includes('testing'), 'test doubles do not ship');
    const help = await run(join(app, 'node_modules', '.bin', 'tributary'), ['--help'], {
      cwd: app,
    });
    assert.match(help.stdout, /tributary start/);
    // `npx tributary start` from the project, on a free port, until it says it is ready; then
    // `npx tributary console` against it serves its page with the stylesheet and script that
    // ship in the package.
    const broker = await npxUntil(
      app,
      [
        'tributary',
        'start',
        '--override',
        'listeners=PLAINTEXT://127.0.0.1:0',
        '--override',
        `log.dirs=${join(dir, 'data')}`,
      ],
      /tributary ready: listening on PLAINTEXT:\/\/(127\.0\.0\.1:\d+)/,
    );
    try {
      const bootstrap = broker.match[1] as string;
      const console_ = await npxUntil(
        app,
        ['tributary', 'console', '--bootstrap-server', bootstrap, '--listen', '127.0.0.1:0'],
        /tributary console: serving (http:\/\/\S+)/,
      );
      try {
        await checkConsole(console_.match[1] as string);
      } finally {
        await console_.stop();
      }
    } finally {
      await broker.stop();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

const CONSOLE_ASSETS = ['console.css', 'console.js'];

/** The console's page, and its stylesheet and script as they are in the repository. */
async function checkConsole(url: string): Promise<void> {
  const page = await fetch(`${url}/`);
  const body = await page.text();
  assert.equal(page.status, 200, body);
  assert.match(body, /<h1>Cluster<\/h1>/);
  for (const asset of CONSOLE_ASSETS) {
    assert.ok(body.includes(`"/static/${asset}"`), `the page links ${asset}`);
    const r = await fetch(`${url}/static/${asset}`);
    assert.equal(r.status, 200, asset);
    assert.match(
      r.headers.get('content-type') ?? '',
      asset.endsWith('.css') ? /text\/css/ : /javascript/,
    );
    const want = await readFile(join(root, 'src', 'console', 'static', asset), 'utf8');
    assert.equal(await r.text(), want, `${asset} as in the repository`);
  }
}

interface NpxRun {
  readonly match: RegExpExecArray;
  stop(): Promise<void>;
}

/**
 * `npx ARGS` in `cwd` until its output matches `ready`. npx runs the bin in a child of its own:
 * stop() signals the whole process group and waits until it is gone (a clean stop).
 */
function npxUntil(cwd: string, args: readonly string[], ready: RegExp): Promise<NpxRun> {
  return new Promise<NpxRun>((resolve, reject) => {
    const child = spawn('npx', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const signal = (s: NodeJS.Signals) => {
      if (child.pid !== undefined) process.kill(-child.pid, s);
    };
    let out = '';
    let done = false;
    const timer = setTimeout(() => {
      signal('SIGKILL');
      reject(new Error(`npx ${args.join(' ')} did not get ready: ${out}`));
    }, 60_000);
    const seen = (chunk: Buffer) => {
      out += chunk.toString();
      const m = ready.exec(out);
      if (m === null || done) return;
      done = true;
      clearTimeout(timer);
      resolve({
        match: m,
        stop: async () => {
          signal('SIGTERM');
          await groupGone(child.pid, args.slice(0, 2).join(' '));
        },
      });
    };
    child.stdout.on('data', seen);
    child.stderr.on('data', seen);
  });
}

/** Resolves once no process of the group `pid` leads is left (the broker stopped cleanly). */
async function groupGone(pid: number | undefined, what: string): Promise<void> {
  if (pid === undefined) return;
  for (let i = 0; i < 300; i++) {
    try {
      process.kill(-pid, 0);
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`npx ${what} did not stop within 15 s of SIGTERM`);
}
