/**
 * DeleteTopics (key 20), versions 0-6.
 *
 * Behaviour: deletes each named topic: its metadata, then its partitions' logs. With
 * delete.topic.enable=false every topic answers TOPIC_DELETION_DISABLED (INVALID_REQUEST before
 * v3, which has no such code), as Kafka does. An unknown name answers UNKNOWN_TOPIC_OR_PARTITION,
 * an unknown id UNKNOWN_TOPIC_ID (name null). A topic named twice is deleted once and every copy
 * gets the same answer (Kafka keeps a set of names). A timeout_ms of 0 or less deletes the topic
 * and answers REQUEST_TIMED_OUT without waiting, as Kafka does (librdkafka hides that error when
 * its operation timeout is 0).
 * Version notes: v0-5 carry topic names; v6 carries topics by name or by id (both set is
 * INVALID_REQUEST "Topic name and topic ID can not both be specified.") and answers the topic id;
 * error_message from v5.
 */

import { AclOperation, ResourceType } from '../../common/acl.ts';
import { TributaryError } from '../../common/errors.ts';
import { ZERO_TOPIC_ID } from '../../common/ids.ts';
import { ErrorCode } from '../../protocol/error-codes.ts';
import { ApiKey } from '../../protocol/messages/api-table.ts';
import type { DeleteTopicsRequest } from '../../protocol/messages/delete-topics-request.ts';
import type { DeleteTopicsResponse } from '../../protocol/messages/delete-topics-response.ts';
import type { BrokerContext } from '../context.ts';
import { defineHandler, type Handler, type RequestContext } from '../handler.ts';

type ResultOut = DeleteTopicsResponse['responses'][number];

interface Target {
  readonly name: string | null;
  readonly topicId: string;
}

export function deleteTopicsHandler(b: BrokerContext): Handler {
  return defineHandler<DeleteTopicsRequest, DeleteTopicsResponse>({
    apiKey: ApiKey.DeleteTopics,
    minVersion: 0,
    maxVersion: 6,
    handle: (req, ctx) => handleDeleteTopics(b, req, ctx),
  });
}

async function handleDeleteTopics(
  b: BrokerContext,
  req: DeleteTopicsRequest,
  ctx: RequestContext,
): Promise<DeleteTopicsResponse> {
  const targets: Target[] =
    ctx.apiVersion >= 6
      ? req.topics.map((t) => ({ name: t.name, topicId: t.topicId }))
      : req.topicNames.map((name) => ({ name, topicId: ZERO_TOPIC_ID }));
  if (!b.config.settings.deleteTopicEnable) {
    const code = ctx.apiVersion < 3 ? ErrorCode.INVALID_REQUEST : ErrorCode.TOPIC_DELETION_DISABLED;
    return {
      throttleTimeMs: 0,
      responses: targets.map((t) => result(t, t.name, code, 'Topic deletion is disabled.')),
    };
  }
  const done = new Map<string, ResultOut>();
  const responses: ResultOut[] = [];
  for (const t of targets) {
    if (t.name !== null && t.topicId !== ZERO_TOPIC_ID) {
      responses.push(
        result(
          t,
          t.name,
          ErrorCode.INVALID_REQUEST,
          'Topic name and topic ID can not both be specified.',
        ),
      );
      continue;
    }
    const name = t.name ?? b.metadata.getById(t.topicId)?.name ?? null;
    if (name === null) {
      responses.push(
        result(t, null, ErrorCode.UNKNOWN_TOPIC_ID, 'This server does not host this topic ID.'),
      );
      continue;
    }
    // Kafka: a topic named by id needs DESCRIBE (else its name is not told), and every topic
    // DELETE; both refusals are TOPIC_AUTHORIZATION_FAILED.
    const byId = t.name === null;
    if (byId && !ctx.auth.allowed(AclOperation.DESCRIBE, ResourceType.TOPIC, name)) {
      responses.push(
        result(t, null, ErrorCode.TOPIC_AUTHORIZATION_FAILED, 'Authorization failed.'),
      );
      continue;
    }
    if (!ctx.auth.allowed(AclOperation.DELETE, ResourceType.TOPIC, name)) {
      responses.push(
        result(t, name, ErrorCode.TOPIC_AUTHORIZATION_FAILED, 'Authorization failed.'),
      );
      continue;
    }
    const previous = done.get(name);
    const answer = previous ?? (await deleteOne(b, t, name, req.timeoutMs));
    done.set(name, answer);
    responses.push({
      ...answer,
      topicId: t.topicId === ZERO_TOPIC_ID ? answer.topicId : t.topicId,
    });
  }
  return { throttleTimeMs: 0, responses };
}

function result(
  t: Target,
  name: string | null,
  errorCode: number,
  message: string | null,
): ResultOut {
  return { name, topicId: t.topicId, errorCode, errorMessage: errorCode === 0 ? null : message };
}

async function deleteOne(
  b: BrokerContext,
  t: Target,
  name: string,
  timeoutMs: number,
): Promise<ResultOut> {
  const topic = b.metadata.get(name);
  if (topic === undefined) {
    return result(
      t,
      name,
      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      'This server does not host this topic-partition.',
    );
  }
  const ok = { ...t, topicId: topic.topicId };
  try {
    await b.controller.deleteTopic(name);
    // Committed offsets of a deleted topic go too (Kafka does the same on topic deletion).
    await b.groups.removeOffsetsOfTopics([name]);
  } catch (err) {
    if (err instanceof TributaryError && err.code === 'BRK_NOT_FOUND') {
      return result(ok, name, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, err.message);
    }
    b.log(`deleting topic ${name} failed: ${String(err)}`);
    return result(
      ok,
      name,
      ErrorCode.KAFKA_STORAGE_ERROR,
      `Deleting the topic failed: ${String(err)}`,
    );
  }
  if (timeoutMs <= 0) return result(ok, name, ErrorCode.REQUEST_TIMED_OUT, null);
  return result(ok, name, 0, null);
}
