/**
 * Wire-level checks of generated codecs against hand-computed bytes, plus the API table, the
 * error-code table and the request/response header helpers. The exhaustive round trips over every
 * version are in tools/codegen/roundtrip.test.ts.
 */
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { ErrorCode, errorInfo, errorName } from './error-codes.ts';
import { readRequestHeader, writeResponseHeader } from './headers.ts';
import {
  ApiKey,
  apiDescriptors,
  decodeConsumerGroupHeartbeatResponse,
  decodeFetchRequest,
  decodeMetadataRequest,
  decodeProduceRequest,
  decodeRequestHeader,
  defaultConsumerGroupHeartbeatResponse,
  defaultFetchRequest,
  defaultMetadataRequest,
  defaultMetadataResponse,
  encodeApiVersionsRequest,
  encodeConsumerGroupHeartbeatResponse,
  encodeFetchRequest,
  encodeMetadataRequest,
  encodeMetadataResponse,
  encodeProduceRequest,
  encodeRequestHeader,
} from './messages/index.ts';
import { ProtocolError } from './protocol-error.ts';
import { Reader } from './reader.ts';
import { Writer } from './writer.ts';

function hex(write: (w: Writer) => void): string {
  const w = new Writer();
  write(w);
  return w.toBuffer().toString('hex');
}

test('RequestHeader v2 keeps the int16 ClientId length (field-level flexibleVersions none)', () => {
  const header = { requestApiKey: 18, requestApiVersion: 3, correlationId: 1, clientId: 'ab' };
  assert.equal(
    hex((w) => encodeRequestHeader(w, header, 2)),
    '00120003000000010002616200',
  );
  assert.equal(
    hex((w) => encodeRequestHeader(w, header, 1)),
    '001200030000000100026162',
  );
  assert.equal(
    hex((w) => encodeRequestHeader(w, { ...header, clientId: null }, 1)),
    '0012000300000001ffff',
  );
  const decoded = decodeRequestHeader(
    new Reader(Buffer.from('00120003000000010002616200', 'hex')),
    2,
  );
  assert.deepEqual(decoded, header);
});

test('ApiVersionsRequest v3 uses compact strings and a tagged-field section', () => {
  const msg = { clientSoftwareName: 'k', clientSoftwareVersion: '1', unknownTaggedFields: [] };
  assert.equal(
    hex((w) => encodeApiVersionsRequest(w, msg, 3)),
    '026b023100',
  );
  assert.equal(
    hex((w) => encodeApiVersionsRequest(w, msg, 0)),
    '',
  );
});

test('a tagged field is written only when it differs from its default', () => {
  const base = { ...defaultFetchRequest(), replicaId: -1, maxWaitMs: 500 };
  const plain = hex((w) => encodeFetchRequest(w, base, 12));
  assert.ok(plain.endsWith('00'), 'empty tagged section');
  const tagged = hex((w) => encodeFetchRequest(w, { ...base, clusterId: 'c' }, 12));
  assert.equal(tagged, `${plain.slice(0, -2)}0100020263`);
  const decoded = decodeFetchRequest(new Reader(Buffer.from(tagged, 'hex')), 12);
  assert.equal(decoded.clusterId, 'c');
  // Below v12 the field does not exist; it is ignorable, so a non-default value is dropped.
  assert.equal(
    hex((w) => encodeFetchRequest(w, { ...base, clusterId: 'c' }, 11)),
    hex((w) => encodeFetchRequest(w, base, 11)),
  );
  // ReplicaState (tag 1, v15+) is not ignorable: a non-default value below v15 is an error.
  const replicaState = { replicaId: 3, replicaEpoch: -1 };
  assert.throws(
    () => encodeFetchRequest(new Writer(), { ...base, replicaState }, 14),
    /replicaState/,
  );
});

test('absent fields: non-default non-ignorable throws, ignorable is dropped', () => {
  const produce = { transactionalId: 'tx', acks: 1, timeoutMs: 1, topicData: [] };
  assert.throws(() => encodeProduceRequest(new Writer(), produce, 2), /transactionalId/);
  const v3 = hex((w) => encodeProduceRequest(w, produce, 3));
  assert.equal(decodeProduceRequest(new Reader(Buffer.from(v3, 'hex')), 3).transactionalId, 'tx');
  const metadata = { ...defaultMetadataRequest(), allowAutoTopicCreation: false };
  assert.throws(() => encodeMetadataRequest(new Writer(), metadata, 3), /allowAutoTopicCreation/);
  assert.equal(decodeMetadataRequest(new Reader(Buffer.alloc(4)), 0).allowAutoTopicCreation, true);
  const response = { ...defaultMetadataResponse(), throttleTimeMs: 100, clusterId: 'x' };
  assert.equal(
    hex((w) => encodeMetadataResponse(w, response, 0)),
    '0000000000000000',
  );
});

test('nullable structs carry an int8 marker', () => {
  const msg = { ...defaultConsumerGroupHeartbeatResponse(), assignment: null };
  const bytes = hex((w) => encodeConsumerGroupHeartbeatResponse(w, msg, 0));
  assert.ok(bytes.endsWith('ff00'), bytes);
  const withAssignment = { ...msg, assignment: { topicPartitions: [] } };
  const bytes2 = hex((w) => encodeConsumerGroupHeartbeatResponse(w, withAssignment, 0));
  assert.ok(bytes2.endsWith('01010000'), bytes2);
  const decoded = decodeConsumerGroupHeartbeatResponse(new Reader(Buffer.from(bytes2, 'hex')), 0);
  assert.deepEqual(decoded.assignment, { topicPartitions: [] });
});

test('decoding an unsupported version is a ProtocolError; encoding one is a RangeError', () => {
  assert.throws(() => decodeProduceRequest(new Reader(Buffer.alloc(64)), 12), ProtocolError);
  assert.throws(() => decodeProduceRequest(new Reader(Buffer.alloc(64)), -1), ProtocolError);
  assert.throws(
    () =>
      encodeProduceRequest(new Writer(), decodeProduceRequest(new Reader(Buffer.alloc(64)), 0), 99),
    RangeError,
  );
});

test('api table: keys, versions and header rules', () => {
  assert.equal(apiDescriptors.size, 88);
  assert.equal(ApiKey.Produce, 0);
  assert.equal(ApiKey.ApiVersions, 18);
  assert.equal(ApiKey.ReadShareGroupStateSummary, 87);
  const produce = apiDescriptors.get(ApiKey.Produce);
  assert.ok(produce);
  assert.equal(produce.name, 'Produce');
  assert.deepEqual(
    [produce.minVersion, produce.maxVersion, produce.flexibleMinVersion],
    [0, 11, 9],
  );
  assert.deepEqual([produce.requestHeaderVersion(8), produce.requestHeaderVersion(9)], [1, 2]);
  assert.deepEqual([produce.responseHeaderVersion(8), produce.responseHeaderVersion(9)], [0, 1]);
  const apiVersions = apiDescriptors.get(ApiKey.ApiVersions);
  assert.ok(apiVersions);
  assert.equal(apiVersions.requestHeaderVersion(3), 2);
  assert.equal(apiVersions.responseHeaderVersion(3), 0);
  const shutdown = apiDescriptors.get(ApiKey.ControlledShutdown);
  assert.ok(shutdown);
  assert.deepEqual(
    [0, 1, 3].map((v) => shutdown.requestHeaderVersion(v)),
    [0, 1, 2],
  );
  const sasl = apiDescriptors.get(ApiKey.SaslHandshake);
  assert.equal(sasl?.flexibleMinVersion, -1);
  assert.equal(sasl?.responseHeaderVersion(1), 0);
  assert.equal(apiDescriptors.get(ApiKey.EndTxn)?.latestVersionUnstable, true);
  assert.deepEqual(apiDescriptors.get(ApiKey.Vote)?.listeners, ['controller']);
  for (const d of apiDescriptors.values()) {
    assert.equal(typeof d.decodeRequest, 'function');
    assert.equal(typeof d.encodeResponse, 'function');
  }
});

test('error codes: every code from -1 to 128, names and retriable flags', () => {
  assert.equal(errorInfo.size, 130);
  for (let code = -1; code <= 128; code++) {
    assert.ok(errorInfo.has(code), `code ${code}`);
  }
  assert.equal(ErrorCode.NONE, 0);
  assert.equal(ErrorCode.UNKNOWN_SERVER_ERROR, -1);
  assert.equal(ErrorCode.UNSUPPORTED_VERSION, 35);
  assert.equal(ErrorCode.INVALID_REGULAR_EXPRESSION, 128);
  assert.equal(errorInfo.get(6)?.name, 'NOT_LEADER_OR_FOLLOWER');
  assert.equal(errorInfo.get(6)?.retriable, true);
  assert.equal(errorInfo.get(35)?.retriable, false);
  assert.equal(errorInfo.get(ErrorCode.NOT_ENOUGH_REPLICAS)?.retriable, true);
  assert.equal(errorInfo.get(ErrorCode.TOPIC_AUTHORIZATION_FAILED)?.retriable, false);
  assert.equal(errorName(9999), 'UNKNOWN(9999)');
});

test('readRequestHeader: known API, header v2 with tagged fields skipped', () => {
  const w = new Writer();
  encodeRequestHeader(
    w,
    {
      requestApiKey: 3,
      requestApiVersion: 12,
      correlationId: 7,
      clientId: 'c',
      unknownTaggedFields: [{ tag: 9, data: Buffer.from([1]) }],
    },
    2,
  );
  w.writeInt8(0x55);
  const frame = w.toBuffer();
  const info = readRequestHeader(frame);
  assert.deepEqual(info, {
    apiKey: 3,
    apiVersion: 12,
    correlationId: 7,
    clientId: 'c',
    bodyOffset: frame.length - 1,
  });
});

test('readRequestHeader: v0 header for ControlledShutdown v0, v1 for non-flexible', () => {
  const v0 = Buffer.from('0007000000000009', 'hex');
  assert.deepEqual(readRequestHeader(v0), {
    apiKey: 7,
    apiVersion: 0,
    correlationId: 9,
    clientId: null,
    bodyOffset: 8,
  });
  const v1 = Buffer.from('000300000000000a0001417f', 'hex');
  assert.deepEqual(readRequestHeader(v1), {
    apiKey: 3,
    apiVersion: 0,
    correlationId: 10,
    clientId: 'A',
    bodyOffset: 11,
  });
});

test('readRequestHeader: unknown key or version still yields the correlation id', () => {
  const unknownKey = Buffer.from('03e70000000000050001', 'hex');
  assert.deepEqual(readRequestHeader(unknownKey), {
    apiKey: 999,
    apiVersion: 0,
    correlationId: 5,
    clientId: null,
    bodyOffset: 8,
  });
  const newVersion = Buffer.from('0012006300000006000178', 'hex');
  assert.deepEqual(readRequestHeader(newVersion), {
    apiKey: 18,
    apiVersion: 99,
    correlationId: 6,
    clientId: 'x',
    bodyOffset: 11,
  });
  assert.throws(() => readRequestHeader(Buffer.from('0012000300', 'hex')), ProtocolError);
  assert.throws(() => readRequestHeader(Buffer.from('00120003000000010005', 'hex')), ProtocolError);
});

test('writeResponseHeader: v0 is the correlation id, v1 adds an empty tagged section', () => {
  assert.equal(
    hex((w) => writeResponseHeader(w, 258, 0)),
    '00000102',
  );
  assert.equal(
    hex((w) => writeResponseHeader(w, 258, 1)),
    '0000010200',
  );
});

test('records given as a list of buffers are written by reference and decode as one view', () => {
  const a = Buffer.alloc(300, 1);
  const b = Buffer.alloc(200, 2);
  const request = {
    transactionalId: null,
    acks: 1,
    timeoutMs: 5,
    topicData: [{ name: 't', partitionData: [{ index: 0, records: [a, b] }] }],
  };
  for (const version of [3, 9]) {
    const w = Writer.frame();
    encodeProduceRequest(w, request, version);
    const chunks = w.finishFrame();
    assert.ok(chunks.includes(a) && chunks.includes(b), 'record buffers are chunks themselves');
    const frame = Buffer.concat(chunks);
    const decoded = decodeProduceRequest(new Reader(frame, 4), version);
    const records = decoded.topicData[0]?.partitionData[0]?.records;
    assert.ok(Buffer.isBuffer(records));
    assert.ok(records.equals(Buffer.concat([a, b])));
    assert.equal(records.buffer, frame.buffer, 'a view into the frame');
  }
});
