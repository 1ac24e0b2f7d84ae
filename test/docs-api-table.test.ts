/**
 * docs/compatibility.md lists the API versions the broker advertises; this keeps that table
 * true: it must name exactly the ranges the handler registry gives ApiVersions.
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { apiDescriptors } from '../src/protocol/messages/api-table.ts';
import { InProcessBroker } from '../src/testing/in-process.ts';

test('the API table in docs/compatibility.md matches what ApiVersions advertises', async () => {
  const doc = readFileSync(new URL('../../docs/compatibility.md', import.meta.url), 'utf8');
  const documented = new Map<number, string>();
  for (const m of doc.matchAll(/^\|\s*(\w+) \((\d+)\)\s*\|\s*(\d+)(?:[–-](\d+))?\s*\|/gm)) {
    documented.set(Number(m[2]), `${m[1]} ${m[3]}-${m[4] ?? m[3]}`);
  }
  const broker = await InProcessBroker.start({ storage: 'memory' });
  try {
    const advertised = new Map(
      broker.broker.dispatcher.apiVersions.map((v) => [
        v.apiKey,
        `${apiDescriptors.get(v.apiKey)?.name} ${v.minVersion}-${v.maxVersion}`,
      ]),
    );
    assert.deepEqual(
      [...documented].sort(([a], [b]) => a - b),
      [...advertised].sort(([a], [b]) => a - b),
    );
  } finally {
    await broker.stop();
  }
});
