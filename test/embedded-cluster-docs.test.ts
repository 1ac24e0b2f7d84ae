/**
 * docs/embedding.md's kafkajs example for startCluster, run as written: the block after the
 * `snippet: embedded-cluster-kafkajs` marker is written out with `tributary` pointing at this
 * build and run with `node --test` in a child process, which must pass and exit on its own.
 */
import { strict as assert } from 'node:assert';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { ChildRun, describeRun, repoRoot } from '../src/testing/broker-process.ts';

const MARKER = '<!-- snippet: embedded-cluster-kafkajs';

test('the startCluster example in docs/embedding.md passes', { timeout: 120_000 }, async () => {
  const doc = await readFile(join(repoRoot(), 'docs', 'embedding.md'), 'utf8');
  const at = doc.indexOf(MARKER);
  assert.ok(at >= 0, 'the snippet marker is in docs/embedding.md');
  const block = /```ts\n([\s\S]*?)```/.exec(doc.slice(at));
  assert.ok(block?.[1] !== undefined, 'a ts block follows the marker');
  const index = pathToFileURL(join(repoRoot(), 'build', 'src', 'index.js')).href;
  const source = block[1].replace("from 'tributary-broker'", `from '${index}'`);
  assert.notEqual(source, block[1], 'the snippet imports tributary');
  // Inside the repository, so that kafkajs resolves from its node_modules.
  const file = join(
    repoRoot(),
    'build',
    'test',
    `embedded-cluster-docs-snippet-${process.pid}.mjs`,
  );
  await writeFile(file, source);
  try {
    // Its own test run, not a subtest of this file's (node:test tells them apart by this variable).
    const r = await new ChildRun(process.execPath, ['--test-reporter=tap', file], {
      timeoutMs: 100_000,
      env: { NODE_TEST_CONTEXT: '' },
    }).done;
    assert.equal(r.timedOut, false, `the snippet's process exits on its own; ${describeRun(r)}`);
    assert.equal(r.code, 0, describeRun(r));
    assert.match(r.stdout.toString(), /# pass 1\n/, describeRun(r));
    assert.match(r.stdout.toString(), /# fail 0\n/, describeRun(r));
  } finally {
    await rm(file, { force: true });
  }
});
