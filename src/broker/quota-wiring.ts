/**
 * Client quotas at run time: the quota managers built from quota.window.num and
 * quota.window.size.seconds, fed from the metadata store at start and on every change (a
 * /config/changes notification in a cluster), and applied to requests as Kafka's KafkaApis does:
 * Produce records its request size against producer_byte_rate, Fetch its response size against
 * consumer_byte_rate (a throttled fetch answers no data), every request its handler time against
 * request_percentage. The largest throttle goes into the response's throttle_time_ms and the
 * connection reads nothing more from the client for that long (connection.ts).
 */
import type { TopicControl } from '../cluster/topic-control.ts';
import type { BrokerConfig } from '../config/broker-config.ts';
import { ApiKey } from '../protocol/messages/api-table.ts';
import { ClientQuotas, quotaUserOf } from '../security/client-quotas.ts';
import type { RequestContext } from './handler.ts';

export function createClientQuotas(config: BrokerConfig): ClientQuotas {
  return new ClientQuotas({
    samples: config.intValue('quota.window.num'),
    sampleMs: config.intValue('quota.window.size.seconds') * 1000,
  });
}

/** The broker's client quotas, read from the store and kept up to date with it. */
export async function startClientQuotas(
  controller: TopicControl,
  config: BrokerConfig,
  log: (message: string) => void,
): Promise<ClientQuotas> {
  const quotas = createClientQuotas(config);
  await followQuotaConfigs(controller, quotas, log);
  return quotas;
}

/** Reads every quota now, and again whenever the store says quotas changed. */
export async function followQuotaConfigs(
  controller: TopicControl,
  quotas: ClientQuotas,
  log: (message: string) => void,
): Promise<void> {
  let applying = Promise.resolve();
  const apply = async (): Promise<void> => {
    quotas.apply(await controller.quotaConfigs(), log);
  };
  controller.onQuotaConfigs(() => {
    applying = applying
      .then(apply)
      .catch((err: unknown) => log(`applying client quotas: ${String(err)}`));
  });
  await apply();
}

/**
 * APIs no request quota counts: the controller's and brokers' own requests (Kafka's cluster
 * actions, answered with sendResponseExemptThrottle) and the SASL exchange.
 */
const REQUEST_QUOTA_EXEMPT: ReadonlySet<number> = new Set([
  ApiKey.LeaderAndIsr,
  ApiKey.StopReplica,
  ApiKey.UpdateMetadata,
  ApiKey.ControlledShutdown,
  ApiKey.WriteTxnMarkers,
  ApiKey.SaslHandshake,
  ApiKey.SaslAuthenticate,
]);

function clientOf(ctx: RequestContext): { user: string; clientId: string } {
  return { user: quotaUserOf(ctx.connection.security.principal), clientId: ctx.clientId ?? '' };
}

/**
 * Records the request's handler time against request_percentage (Kafka counts request-thread
 * nanoseconds as a percentage: 1 s of one thread is 100), takes the larger of that throttle and
 * the handler's byte-rate one, and writes it into the response's throttle_time_ms.
 */
export function requestThrottleMs(
  quotas: ClientQuotas,
  ctx: RequestContext,
  response: unknown,
  handlerMs: number,
): void {
  const q = ctx.quota;
  const exempt =
    q.exempt || REQUEST_QUOTA_EXEMPT.has(ctx.apiKey) || !ctx.connection.security.authenticated;
  if (!exempt && quotas.request.enabled) {
    const { user, clientId } = clientOf(ctx);
    const ms = quotas.request.record(user, clientId, handlerMs / 10, performance.now());
    q.throttleTimeMs = Math.max(q.throttleTimeMs, ms);
  }
  if (q.throttleTimeMs <= 0 || typeof response !== 'object' || response === null) return;
  const r = response as { throttleTimeMs?: unknown };
  if (typeof r.throttleTimeMs === 'number') r.throttleTimeMs = q.throttleTimeMs;
}

/** Produce: the request's bytes against producer_byte_rate (recorded even for acks=0). */
export function recordProduceQuota(quotas: ClientQuotas, ctx: RequestContext): void {
  if (!quotas.produce.enabled) return;
  const { user, clientId } = clientOf(ctx);
  const ms = quotas.produce.record(user, clientId, ctx.quota.requestBytes, performance.now());
  ctx.quota.throttleTimeMs = Math.max(ctx.quota.throttleTimeMs, ms);
}

/** Fetch: the most a consumer may be sent at once (Kafka's getMaxValueInQuotaWindow). */
export function fetchBytesMax(quotas: ClientQuotas, ctx: RequestContext): number {
  const { user, clientId } = clientOf(ctx);
  return quotas.fetch.maxValueInWindow(user, clientId);
}

/**
 * Fetch: the response's bytes against consumer_byte_rate, and whether the client is over its
 * request_percentage already (KafkaApis checks both before answering); when either throttles,
 * the bytes are taken back (the consumer gets no data this time) and true is returned.
 */
export function recordFetchQuota(
  quotas: ClientQuotas,
  ctx: RequestContext,
  bytes: number,
): boolean {
  const { user, clientId } = clientOf(ctx);
  const now = performance.now();
  // Recording nothing measures the request-time rate as it stands; the handler's own time is
  // added by the dispatcher once it has run.
  const requestMs = quotas.request.enabled ? quotas.request.record(user, clientId, 0, now) : 0;
  const bytesMs = quotas.fetch.enabled ? quotas.fetch.record(user, clientId, bytes, now) : 0;
  const ms = Math.max(requestMs, bytesMs);
  if (ms <= 0) return false;
  quotas.fetch.unrecord(user, clientId, bytes, now);
  ctx.quota.throttleTimeMs = Math.max(ctx.quota.throttleTimeMs, ms);
  return true;
}
