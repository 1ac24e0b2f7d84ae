/**
 * DescribeLogDirs (key 35), versions 0-4.
 *
 * Behaviour: one result per configured log directory (its absolute path), listing the partitions
 * stored in it: every partition when topics is null, else the requested ones that exist (unknown
 * topics and partitions are left out, as in Kafka; an empty list asks for none). Each partition
 * answers its size in bytes and its offset lag: for a current replica Kafka's lag of the high
 * watermark behind the log end (at least 0), for a future one (a move by AlterReplicaLogDirs
 * under way, is_future true, listed under its target dir) how far it is behind the current log's
 * end. A dir taken offline by an I/O error answers KAFKA_STORAGE_ERROR and no partitions.
 * Version notes: v3+ carries a top-level error code (0); v4+ answers the total and usable bytes
 * of the volume holding each directory (statfs; -1 when it cannot be read, e.g. the in-memory
 * file system of the embedded broker). Flexible versions (v2+) carry, on compacted partitions,
 * Tributary's cleaner-state tag (log-dir-cleaner-state.ts), which other clients skip.
 */

import { statfs } from 'node:fs/promises';
import { resolve } from 'node:path';
import { AclOperation } from '../../common/acl.ts';
import { ErrorCode } from '../../protocol/error-codes.ts';
import { ApiKey } from '../../protocol/messages/api-table.ts';
import type { DescribeLogDirsRequest } from '../../protocol/messages/describe-log-dirs-request.ts';
import type { DescribeLogDirsResponse } from '../../protocol/messages/describe-log-dirs-response.ts';
import type { RawTaggedField } from '../../protocol/reader.ts';
import type { PartitionLog } from '../../storage/partition-log.ts';
import type { BrokerContext } from '../context.ts';
import { defineHandler, type Handler, type RequestContext } from '../handler.ts';
import { cleanerStateTags } from '../log-dir-cleaner-state.ts';

type ResultOut = DescribeLogDirsResponse['results'][number];
type TopicOut = ResultOut['topics'][number];

export function describeLogDirsHandler(b: BrokerContext): Handler {
  return defineHandler<DescribeLogDirsRequest, DescribeLogDirsResponse>({
    apiKey: ApiKey.DescribeLogDirs,
    minVersion: 0,
    maxVersion: 4,
    handle: (req, ctx) => handleDescribeLogDirs(b, req, ctx),
  });
}

async function handleDescribeLogDirs(
  b: BrokerContext,
  req: DescribeLogDirsRequest,
  ctx: RequestContext,
): Promise<DescribeLogDirsResponse> {
  // Kafka: DESCRIBE on the cluster, else no results (and the error from v3).
  if (!ctx.auth.cluster(AclOperation.DESCRIBE)) {
    return { throttleTimeMs: 0, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, results: [] };
  }
  const logs = b.partitions.logs;
  const byDir = new Map<string, PartitionLog[]>(logs.logDirs.map((d) => [d, []]));
  for (const log of selected(b, req)) {
    const dir = logs.dirOf(log);
    if (dir !== undefined) byDir.get(dir)?.push(log);
  }
  const tags = await cleanerStateTags(logs.cleaner, [...byDir.values()].flat(), ctx.apiVersion);
  const results: ResultOut[] = [];
  for (const [dir, dirLogs] of byDir) {
    if (logs.dirFailure(dir) !== undefined) {
      results.push({
        errorCode: ErrorCode.KAFKA_STORAGE_ERROR,
        logDir: resolve(dir),
        topics: [],
        totalBytes: -1,
        usableBytes: -1,
      });
      continue;
    }
    const space = ctx.apiVersion >= 4 ? await volumeSpace(dir) : { total: -1, usable: -1 };
    results.push({
      errorCode: 0,
      logDir: resolve(dir),
      topics: groupByTopic(b, dirLogs, tags),
      totalBytes: space.total,
      usableBytes: space.usable,
    });
  }
  return { throttleTimeMs: 0, errorCode: 0, results };
}

/** The logs the request asks about (current, then future), in topic then partition order. */
function selected(b: BrokerContext, req: DescribeLogDirsRequest): PartitionLog[] {
  const out: PartitionLog[] = [];
  const add = (topic: string, partition: number): void => {
    const log = b.partitions.get(topic, partition)?.log;
    if (log === undefined) return;
    out.push(log);
    const future = b.partitions.logs.future(topic, partition);
    if (future !== undefined) out.push(future);
  };
  if (req.topics === null) {
    for (const t of b.metadata.topics()) {
      for (let p = 0; p < t.partitionCount; p++) add(t.name, p);
    }
    return out;
  }
  const seen = new Set<string>();
  for (const t of req.topics) {
    for (const p of t.partitions) {
      const k = `${t.topic}\u0000${p}`;
      if (seen.has(k)) continue;
      seen.add(k);
      add(t.topic, p);
    }
  }
  return out;
}

function groupByTopic(
  b: BrokerContext,
  logs: readonly PartitionLog[],
  tags: ReadonlyMap<PartitionLog, readonly RawTaggedField[]>,
): TopicOut[] {
  const topics = new Map<string, TopicOut['partitions'][number][]>();
  for (const log of logs) {
    let list = topics.get(log.topic);
    if (list === undefined) {
      list = [];
      topics.set(log.topic, list);
    }
    const partition = b.partitions.get(log.topic, log.partition);
    const isFuture = partition !== undefined && partition.log !== log;
    const current = partition?.log ?? log;
    list.push({
      partitionIndex: log.partition,
      partitionSize: log.sizeInBytes(),
      // Kafka's rules: a future replica's lag behind the current log's end; a current one's,
      // the high watermark's lag behind its end.
      offsetLag: isFuture
        ? Math.max(0, current.logEndOffset - log.logEndOffset)
        : Math.max(0, (partition?.highWatermark ?? log.logEndOffset) - log.logEndOffset),
      isFutureKey: isFuture,
      ...cleanerTag(tags.get(log)),
    });
  }
  return [...topics].map(([name, partitions]) => ({ name, partitions }));
}

function cleanerTag(t: readonly RawTaggedField[] | undefined) {
  return t === undefined ? {} : { unknownTaggedFields: t };
}

async function volumeSpace(dir: string): Promise<{ total: number; usable: number }> {
  try {
    const s = await statfs(dir);
    return { total: s.blocks * s.bsize, usable: s.bavail * s.bsize };
  } catch {
    return { total: -1, usable: -1 };
  }
}
