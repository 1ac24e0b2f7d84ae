/**
 * Codec micro-benchmark: encode and decode of whole frames (header + body) for
 *   - a Produce request (v9, flexible) carrying 1 MiB of records in one partition,
 *   - a Fetch response (v16) carrying 1 MiB of records over 16 partitions of 64 KiB,
 *   - a Metadata response (v12) describing 1,000 partitions (10 topics x 100, 3 replicas each).
 *
 *   npx tsc -p . && node build/bench/codec.js
 *
 * Encode produces the chunk list a socket would writev (records stay by reference); decode reads
 * the header and body from one contiguous frame (records come out as views). MB/s counts frame
 * bytes (1 MB = 10^6 bytes). Each case runs for about a second after a warm-up.
 */
import { readRequestHeader, writeResponseHeader } from '../src/protocol/headers.ts';
import {
  decodeFetchResponse,
  decodeMetadataResponse,
  decodeProduceRequest,
  decodeResponseHeader,
  defaultFetchResponse,
  defaultFetchResponsePartitionData,
  defaultMetadataResponse,
  defaultMetadataResponseMetadataResponsePartition,
  defaultMetadataResponseMetadataResponseTopic,
  encodeFetchResponse,
  encodeMetadataResponse,
  encodeProduceRequest,
  encodeRequestHeader,
  type FetchResponse,
  type MetadataResponse,
  type ProduceRequest,
} from '../src/protocol/messages/index.ts';
import { Reader } from '../src/protocol/reader.ts';
import { Writer } from '../src/protocol/writer.ts';

const MIB = 1024 * 1024;
const RUN_MS = 1000;
const WARMUP_MS = 200;

interface Case {
  readonly name: string;
  encode(): Buffer[];
  decode(frame: Buffer): unknown;
}

function produceCase(): Case {
  const version = 9;
  const records = Buffer.alloc(MIB, 7);
  const request: ProduceRequest = {
    transactionalId: null,
    acks: -1,
    timeoutMs: 30000,
    topicData: [{ name: 'bench-topic', partitionData: [{ index: 0, records }] }],
  };
  return {
    name: 'Produce request v9, 1 MiB records',
    encode() {
      const w = Writer.frame();
      encodeRequestHeader(
        w,
        { requestApiKey: 0, requestApiVersion: version, correlationId: 1, clientId: 'bench' },
        2,
      );
      encodeProduceRequest(w, request, version);
      return w.finishFrame();
    },
    decode(frame) {
      const info = readRequestHeader(frame);
      return decodeProduceRequest(new Reader(frame, info.bodyOffset), info.apiVersion);
    },
  };
}

function fetchCase(): Case {
  const version = 16;
  const partitions = 16;
  const response: FetchResponse = {
    ...defaultFetchResponse(),
    responses: [
      {
        topic: '',
        topicId: 'AAAAAAAAAAAAAAAAAAAAAQ',
        partitions: Array.from({ length: partitions }, (_, i) => ({
          ...defaultFetchResponsePartitionData(),
          partitionIndex: i,
          highWatermark: 1_000_000 + i,
          lastStableOffset: 1_000_000 + i,
          logStartOffset: 0,
          records: Buffer.alloc(MIB / partitions, i),
        })),
      },
    ],
  };
  return {
    name: 'Fetch response v16, 1 MiB records (16 x 64 KiB)',
    encode() {
      const w = Writer.frame();
      writeResponseHeader(w, 1, 1);
      encodeFetchResponse(w, response, version);
      return w.finishFrame();
    },
    decode(frame) {
      const r = new Reader(frame);
      decodeResponseHeader(r, 1);
      return decodeFetchResponse(r, version);
    },
  };
}

function metadataCase(): Case {
  const version = 12;
  const response: MetadataResponse = {
    ...defaultMetadataResponse(),
    brokers: [1, 2, 3].map((nodeId) => ({
      nodeId,
      host: `broker-${nodeId}.local`,
      port: 9092,
      rack: null,
    })),
    clusterId: 'bench-cluster',
    controllerId: 1,
    topics: Array.from({ length: 10 }, (_, t) => ({
      ...defaultMetadataResponseMetadataResponseTopic(),
      name: `topic-${t}`,
      topicId: Buffer.alloc(16, t + 1).toString('base64url'),
      partitions: Array.from({ length: 100 }, (_, p) => ({
        ...defaultMetadataResponseMetadataResponsePartition(),
        partitionIndex: p,
        leaderId: 1 + (p % 3),
        leaderEpoch: 5,
        replicaNodes: [1, 2, 3],
        isrNodes: [1, 2, 3],
      })),
    })),
  };
  return {
    name: 'Metadata response v12, 1,000 partitions',
    encode() {
      const w = Writer.frame(64 * 1024);
      writeResponseHeader(w, 1, 1);
      encodeMetadataResponse(w, response, version);
      return w.finishFrame();
    },
    decode(frame) {
      const r = new Reader(frame);
      decodeResponseHeader(r, 1);
      return decodeMetadataResponse(r, version);
    },
  };
}

function measure(run: () => void): { opsPerSec: number; ops: number } {
  const warmupEnd = performance.now() + WARMUP_MS;
  while (performance.now() < warmupEnd) {
    run();
  }
  let ops = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < RUN_MS) {
    for (let i = 0; i < 10; i++) {
      run();
    }
    ops += 10;
    elapsed = performance.now() - start;
  }
  return { opsPerSec: (ops * 1000) / elapsed, ops };
}

function main(): void {
  const rows: string[] = [];
  let sink = 0;
  for (const c of [produceCase(), fetchCase(), metadataCase()]) {
    const chunks = c.encode();
    const frameBytes = chunks.reduce((n, b) => n + b.length, 0);
    const frame = Buffer.concat(chunks).subarray(4);
    const enc = measure(() => {
      sink += c.encode().length;
    });
    const dec = measure(() => {
      sink += c.decode(frame) === undefined ? 0 : 1;
    });
    const mbps = (opsPerSec: number): string => ((opsPerSec * frameBytes) / 1e6).toFixed(0);
    rows.push(
      `| ${c.name} | ${frameBytes} | ${chunks.length} | ${enc.opsPerSec.toFixed(0)} | ${mbps(enc.opsPerSec)} | ${dec.opsPerSec.toFixed(0)} | ${mbps(dec.opsPerSec)} |`,
    );
  }
  process.stdout.write(
    [
      `node ${process.version}, ${process.platform}/${process.arch}`,
      '',
      '| case | frame bytes | chunks | encode ops/s | encode MB/s | decode ops/s | decode MB/s |',
      '|---|---:|---:|---:|---:|---:|---:|',
      ...rows,
      '',
      `(sink ${sink})`,
      '',
    ].join('\n'),
  );
}

main();
