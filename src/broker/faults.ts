/**
 * Test control for the embedded broker: fault injection by API (fail the next N requests with a
 * Kafka error, delay them, drop connections) and a protocol trace (every request and response,
 * decoded, with client id and timing). Installed as the dispatcher's hook; costs nothing when no
 * fault is armed and tracing is off.
 */
import { ErrorCode, type ErrorCodeName } from '../protocol/error-codes.ts';
import { ApiKey, type ApiKeyName, apiDescriptors } from '../protocol/messages/api-table.ts';
import type { DispatchHook } from './dispatcher.ts';
import type { RequestContext } from './handler.ts';

export interface TraceEntry {
  readonly atMs: number;
  readonly connectionId: number;
  readonly clientId: string | null;
  readonly api: string;
  readonly apiKey: number;
  readonly apiVersion: number;
  readonly correlationId: number;
  readonly request: unknown;
  readonly response: unknown;
  readonly elapsedMs: number;
  /** Set when an injected fault answered instead of the handler. */
  readonly injected?: string;
}

interface Failure {
  errorCode: number;
  errorName: string;
  times: number;
}

/** Trace entries kept; older ones are dropped first. */
export const TRACE_ENTRIES_MAX = 10_000;

export class FaultInjector {
  readonly #failures = new Map<number, Failure>();
  readonly #delays = new Map<number, number>();
  readonly #trace: TraceEntry[] = [];
  tracing = false;

  /** Answers the next `times` requests of `api` with `error` in every error code field. */
  failNext(api: ApiKeyName, error: ErrorCodeName, options: { times?: number } = {}): void {
    const times = options.times ?? 1;
    this.#failures.set(ApiKey[api], { errorCode: ErrorCode[error], errorName: error, times });
  }

  /** Delays every request of `api` by `ms` before it is handled (0 removes the delay). */
  delay(api: ApiKeyName, ms: number): void {
    if (ms <= 0) this.#delays.delete(ApiKey[api]);
    else this.#delays.set(ApiKey[api], ms);
  }

  clear(): void {
    this.#failures.clear();
    this.#delays.clear();
  }

  get trace(): readonly TraceEntry[] {
    return this.#trace;
  }

  clearTrace(): void {
    this.#trace.length = 0;
  }

  readonly hook: DispatchHook = (ctx, request, next) => {
    const delayMs = this.#delays.get(ctx.apiKey);
    const failure = this.#failures.get(ctx.apiKey);
    if (delayMs === undefined && failure === undefined && !this.tracing) return next();
    return this.#run(ctx, request, next, delayMs, failure);
  };

  async #run(
    ctx: RequestContext,
    request: unknown,
    next: () => Promise<unknown>,
    delayMs: number | undefined,
    failure: Failure | undefined,
  ): Promise<unknown> {
    const started = performance.now();
    // Unref'd: a delayed request must not keep a test process alive after stop().
    if (delayMs !== undefined) await new Promise((r) => setTimeout(r, delayMs).unref());
    let response: unknown;
    let injected: string | undefined;
    if (failure !== undefined && failure.times > 0) {
      failure.times--;
      if (failure.times === 0) this.#failures.delete(ctx.apiKey);
      injected = failure.errorName;
      response = await answerWithError(ctx, request, next, failure.errorCode);
    } else {
      response = await next();
    }
    if (this.tracing) this.#record(ctx, request, response, performance.now() - started, injected);
    return response;
  }

  #record(
    ctx: RequestContext,
    request: unknown,
    response: unknown,
    elapsedMs: number,
    injected?: string,
  ): void {
    if (this.#trace.length >= TRACE_ENTRIES_MAX) this.#trace.shift();
    this.#trace.push({
      atMs: Date.now(),
      connectionId: ctx.connection.id,
      clientId: ctx.clientId,
      api: apiDescriptors.get(ctx.apiKey)?.name ?? String(ctx.apiKey),
      apiKey: ctx.apiKey,
      apiVersion: ctx.apiVersion,
      correlationId: ctx.correlationId,
      request,
      response,
      elapsedMs,
      ...(injected === undefined ? {} : { injected }),
    });
  }
}

/**
 * Produce is answered without appending anything (as a broker that is not the leader would);
 * any other API runs its handler and then has every error code field of its response replaced.
 */
async function answerWithError(
  ctx: RequestContext,
  request: unknown,
  next: () => Promise<unknown>,
  errorCode: number,
): Promise<unknown> {
  if (ctx.apiKey === ApiKey.Produce) return produceError(request, errorCode);
  const response = await next();
  setErrorCodes(response, errorCode);
  return response;
}

interface ProduceShape {
  topicData: readonly { name: string; partitionData: readonly { index: number }[] }[];
}

function produceError(request: unknown, errorCode: number): unknown {
  const req = request as ProduceShape;
  return {
    responses: req.topicData.map((t) => ({
      name: t.name,
      partitionResponses: t.partitionData.map((p) => ({
        index: p.index,
        errorCode,
        baseOffset: -1,
        logAppendTimeMs: -1,
        logStartOffset: -1,
        recordErrors: [],
        errorMessage: null,
        currentLeader: { leaderId: -1, leaderEpoch: -1 },
      })),
    })),
    throttleTimeMs: 0,
    nodeEndpoints: [],
  };
}

function setErrorCodes(value: unknown, errorCode: number): void {
  if (Array.isArray(value)) {
    for (const v of value) setErrorCodes(v, errorCode);
    return;
  }
  if (value === null || typeof value !== 'object' || Buffer.isBuffer(value)) return;
  const obj = value as Record<string, unknown>;
  for (const key of Object.keys(obj)) {
    if (key === 'errorCode' && typeof obj[key] === 'number') obj[key] = errorCode;
    else setErrorCodes(obj[key], errorCode);
  }
}

/** One line per trace entry, for people. */
export function formatTrace(entries: readonly TraceEntry[]): string {
  return entries
    .map((e) => {
      const who = e.clientId === null ? '' : ` client=${e.clientId}`;
      const fault = e.injected === undefined ? '' : ` injected=${e.injected}`;
      return `${e.api} v${e.apiVersion} conn=${e.connectionId}${who} corr=${e.correlationId} ${e.elapsedMs.toFixed(1)}ms${fault}`;
    })
    .join('\n');
}
