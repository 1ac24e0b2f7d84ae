/**
 * Golden frames: the first requests real clients sent to a listening socket (captured by
 * tools/capture-golden.ts into test/fixtures/golden/). Each one decodes (header and body) with
 * the expected fields, every byte consumed, and re-encodes to identical bytes.
 */
import { strict as assert } from 'node:assert';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { readRequestHeader } from '../src/protocol/headers.ts';
import {
  apiDescriptors,
  decodeRequestHeader,
  encodeRequestHeader,
} from '../src/protocol/messages/index.ts';
import { Reader } from '../src/protocol/reader.ts';
import { Writer } from '../src/protocol/writer.ts';
import { findRepoRoot } from '../tools/codegen/main.ts';

interface Captured {
  readonly file: string;
  readonly client: string;
  readonly apiKey: number;
  readonly apiVersion: number;
  readonly correlationId: number;
  readonly clientId: string | null;
}

const goldenDir = join(findRepoRoot(), 'test', 'fixtures', 'golden');
const manifest = JSON.parse(readFileSync(join(goldenDir, 'manifest.json'), 'utf8')) as Captured[];

/** Fields each captured request body must hold (a subset of the decoded body). */
const expectedBodies: Readonly<Record<string, Readonly<Record<string, unknown>>>> = {
  'kcat-1-api18-v3.bin': { clientSoftwareName: 'librdkafka', clientSoftwareVersion: '2.0.2' },
  'kcat-2-api3-v4.bin': { topics: [], allowAutoTopicCreation: false },
  'kcat-legacy-1-api3-v0.bin': { topics: [] },
  'kafka-python-0.9-1-api3-v0.bin': { topics: [] },
  'kafka-python-auto-1-api18-v0.bin': { clientSoftwareName: '', clientSoftwareVersion: '' },
  'kafka-python-auto-2-api3-v0.bin': { topics: [] },
  'confluent-kafka-1-api18-v3.bin': {
    clientSoftwareName: 'confluent-kafka-python',
    clientSoftwareVersion: '1.7.0-rdkafka-2.0.2',
  },
  'confluent-kafka-2-api3-v4.bin': { topics: [], allowAutoTopicCreation: false },
  // ApiVersions v2 has no body fields; admin.listTopics() asks for every topic (null).
  'kafkajs-1-api18-v2.bin': {},
  'kafkajs-2-api3-v6.bin': {
    topics: null,
    allowAutoTopicCreation: false,
    includeClusterAuthorizedOperations: false,
    includeTopicAuthorizedOperations: false,
  },
};

const expectedClientIds: Readonly<Record<string, string>> = {
  kcat: 'rdkafka',
  'kcat-legacy': 'rdkafka',
  'kafka-python-0.9': 'golden-py',
  'kafka-python-auto': 'golden-py',
  'confluent-kafka': 'golden-ck',
  kafkajs: 'golden-js',
};

test('the manifest covers the expected clients and frames', () => {
  assert.deepEqual(manifest.map((c) => c.file).sort(), Object.keys(expectedBodies).sort());
});

for (const captured of manifest) {
  test(`golden ${captured.file}`, () => {
    const path = join(goldenDir, captured.file);
    assert.ok(existsSync(path));
    const bytes = readFileSync(path);
    assert.equal(bytes.readInt32BE(0), bytes.length - 4, 'size prefix');
    const frame = bytes.subarray(4);

    const info = readRequestHeader(frame);
    assert.equal(info.apiKey, captured.apiKey);
    assert.equal(info.apiVersion, captured.apiVersion);
    assert.equal(info.correlationId, captured.correlationId);
    assert.equal(info.clientId, expectedClientIds[captured.client]);

    const api = apiDescriptors.get(info.apiKey);
    assert.ok(api, `api ${info.apiKey}`);
    const headerVersion = api.requestHeaderVersion(info.apiVersion);
    const r = new Reader(frame);
    const header = decodeRequestHeader(r, headerVersion);
    assert.equal(r.offset, info.bodyOffset);
    const body = api.decodeRequest(r, info.apiVersion) as Record<string, unknown>;
    assert.equal(r.remaining(), 0, 'every byte consumed');
    for (const [key, value] of Object.entries(expectedBodies[captured.file] ?? {})) {
      assert.deepEqual(body[key], value, key);
    }

    const w = Writer.frame();
    encodeRequestHeader(w, header, headerVersion);
    api.encodeRequest(w, body, info.apiVersion);
    assert.ok(Buffer.concat(w.finishFrame()).equals(bytes), 're-encodes to identical bytes');
  });
}
