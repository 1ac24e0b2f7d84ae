import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { activeResources, resourcesLeaked, settledResources } from './handles.ts';

test('a server left listening is reported by type, and nothing once it is closed', async () => {
  const before = activeResources();
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  assert.deepEqual(resourcesLeaked(before, activeResources()), ['TCPServerWrap ×1']);
  server.close();
  await once(server, 'close');
  assert.deepEqual(resourcesLeaked(before, await settledResources()), []);
});

test('a leak is reported even when another resource went away meanwhile', () => {
  const before = new Map([
    ['Timeout', 2],
    ['TCPSocketWrap', 1],
  ]);
  const after = new Map([
    ['Timeout', 1],
    ['TCPSocketWrap', 1],
    ['TCPServerWrap', 1],
  ]);
  assert.deepEqual(resourcesLeaked(before, after), ['TCPServerWrap ×1']);
});
