/**
 * Request dispatch: a table lookup by API key (no switch over every API). Parses the header,
 * checks the version against what the handler declares, decodes the body with the generated codec,
 * runs the handler and encodes the response frame.
 *
 * Kafka's rules for what it does not support: ApiVersions at an unsupported version is answered
 * at v0 with UNSUPPORTED_VERSION and the supported ranges (KIP-511); any other unknown API or
 * version, and any request that does not decode, closes the connection.
 */
import { ErrorCode } from '../protocol/error-codes.ts';
import { readRequestHeader, writeResponseHeader } from '../protocol/headers.ts';
import { ApiKey, apiDescriptors } from '../protocol/messages/api-table.ts';
import { Reader } from '../protocol/reader.ts';
import { Writer } from '../protocol/writer.ts';
import type { Authorizer } from '../security/authorizer.ts';
import type { ClientQuotas } from '../security/client-quotas.ts';
import { API_AUTHORIZATION, clientHost, RequestAuthorization } from './authorization.ts';
import { type ConnectionInfo, type Handler, NO_RESPONSE, type RequestContext } from './handler.ts';
import { requestThrottleMs } from './quota-wiring.ts';

export type DispatchOutcome =
  | { readonly kind: 'close'; readonly reason: string }
  | {
      readonly kind: 'respond';
      readonly apiKey: number;
      readonly response: Promise<readonly Buffer[] | null>;
      /** The connection calls this once the response is written or dropped (afterSent). */
      readonly sent: () => void;
      /** Once the response is ready: how long the connection stays muted (client quotas). */
      readonly throttleMs: () => number;
    };

export interface ApiVersionRange {
  readonly apiKey: number;
  readonly minVersion: number;
  readonly maxVersion: number;
}

/**
 * Wraps every handler call (the embedded broker's protocol trace and fault injection). `next`
 * runs the real handler; a hook may delay it, skip it and answer something else, or observe it.
 * `next` must be called synchronously when the request is not delayed, so appends keep the
 * order requests arrived in.
 */
export type DispatchHook = (
  ctx: RequestContext,
  request: unknown,
  next: () => Promise<unknown>,
) => Promise<unknown>;

const NOTHING_TO_RELEASE = (): void => undefined;
const NO_THROTTLE = (): number => 0;

/**
 * A raw SASL token after SaslHandshake v0: the frame is the token; the answer is the server's
 * token, length-prefixed, or nothing and a closed connection when authentication fails.
 */
function rawSaslToken(frame: Buffer, connection: ConnectionInfo): DispatchOutcome {
  const response = connection.security.authenticate(frame).then((outcome) => {
    if (outcome.errorCode !== 0) {
      connection.security.closeAfterResponse = true;
      return null;
    }
    const length = Buffer.alloc(4);
    length.writeInt32BE(outcome.authBytes.length);
    return [length, outcome.authBytes];
  });
  return {
    kind: 'respond',
    apiKey: ApiKey.SaslAuthenticate,
    response,
    sent: NOTHING_TO_RELEASE,
    throttleMs: NO_THROTTLE,
  };
}

export class Dispatcher {
  readonly #handlers: ReadonlyMap<number, Handler>;
  readonly #versions: readonly ApiVersionRange[];
  hook: DispatchHook | null = null;
  /**
   * Cluster mode: client requests wait for this until the broker is registered and knows the
   * cluster (Kafka processes requests only once its start-up is done); the APIs in
   * `gateExempt` (ApiVersions, the controller's requests) pass at once.
   */
  gate: Promise<void> | null = null;
  gateExempt: ReadonlySet<number> = new Set();
  /** True when the hook keeps responses after they are sent (a protocol trace). */
  hookRetainsResponses = false;
  /** Client quotas (request_percentage here; byte rates in the Produce and Fetch handlers). */
  quotas: ClientQuotas | null = null;

  readonly #authorizer: Authorizer | null;

  /** `authorizer`: null when authorizer.class.name is unset (every request allowed). */
  constructor(handlers: readonly Handler[], authorizer: Authorizer | null = null) {
    this.#authorizer = authorizer;
    const map = new Map<number, Handler>();
    for (const h of handlers) {
      const desc = apiDescriptors.get(h.apiKey);
      if (desc === undefined) throw new Error(`handler for unknown api key ${h.apiKey}`);
      if (!API_AUTHORIZATION.has(h.apiKey)) {
        throw new Error(`handler ${desc.name} has no row in the authorization table`);
      }
      if (h.minVersion < desc.minVersion || h.maxVersion > desc.maxVersion) {
        throw new Error(`handler ${desc.name} declares versions outside the definitions`);
      }
      if (map.has(h.apiKey)) throw new Error(`two handlers for ${desc.name}`);
      map.set(h.apiKey, h);
    }
    this.#handlers = map;
    this.#versions = [...map.values()]
      .sort((a, b) => a.apiKey - b.apiKey)
      .map((h) => ({ apiKey: h.apiKey, minVersion: h.minVersion, maxVersion: h.maxVersion }));
  }

  /** The ranges ApiVersions advertises: exactly the registered handlers. */
  get apiVersions(): readonly ApiVersionRange[] {
    return this.#versions;
  }

  dispatch(frame: Buffer, connection: ConnectionInfo): DispatchOutcome {
    if (connection.security.rawTokens) return rawSaslToken(frame, connection);
    let header: ReturnType<typeof readRequestHeader>;
    try {
      header = readRequestHeader(frame);
    } catch {
      return { kind: 'close', reason: 'unreadable request header' };
    }
    const { apiKey, apiVersion, correlationId } = header;
    // SASL listeners: nothing but ApiVersions and the SASL exchange before authentication.
    const refused = connection.security.refusal(apiKey);
    if (refused !== undefined) return { kind: 'close', reason: refused };
    const handler = this.#handlers.get(apiKey);
    const desc = apiDescriptors.get(apiKey);
    const supported =
      handler !== undefined && apiVersion >= handler.minVersion && apiVersion <= handler.maxVersion;
    if (!supported || desc === undefined) {
      if (apiKey === ApiKey.ApiVersions) {
        return {
          kind: 'respond',
          apiKey,
          response: Promise.resolve(this.#unsupportedApiVersions(correlationId)),
          sent: NOTHING_TO_RELEASE,
          throttleMs: NO_THROTTLE,
        };
      }
      return { kind: 'close', reason: `unsupported api key ${apiKey} version ${apiVersion}` };
    }
    let request: unknown;
    try {
      request = desc.decodeRequest(new Reader(frame, header.bodyOffset), apiVersion);
    } catch (err) {
      return {
        kind: 'close',
        reason: `invalid ${desc.name} v${apiVersion} request: ${String(err)}`,
      };
    }
    let releases: (() => void)[] | null = null;
    const retained = this.hookRetainsResponses;
    const ctx: RequestContext = {
      apiKey,
      apiVersion,
      correlationId,
      clientId: header.clientId,
      connection,
      quota: { requestBytes: frame.length, throttleTimeMs: 0, exempt: false },
      auth: new RequestAuthorization(this.#authorizer, apiKey, {
        principal: connection.security.principal,
        host: clientHost(connection.remoteAddress),
      }),
      afterSent: (fn) => {
        if (retained) return false;
        releases ??= [];
        releases.push(fn);
        return true;
      },
    };
    const sent = () => {
      const list = releases;
      releases = null;
      if (list !== null) for (const fn of list) fn();
    };
    return {
      kind: 'respond',
      apiKey,
      response: this.#run(handler, desc, ctx, request),
      sent,
      throttleMs: () => ctx.quota.throttleTimeMs,
    };
  }

  async #run(
    handler: Handler,
    desc: NonNullable<ReturnType<typeof apiDescriptors.get>>,
    ctx: RequestContext,
    request: unknown,
  ): Promise<readonly Buffer[] | null> {
    const gate = this.gate;
    if (gate !== null && !this.gateExempt.has(ctx.apiKey)) await gate;
    const next = async () => handler.handle(request, ctx);
    // The handler's synchronous part is the event-loop time request_percentage counts.
    const startedMs = performance.now();
    const pending = this.hook === null ? next() : this.hook(ctx, request, next);
    const handlerMs = performance.now() - startedMs;
    const response = await pending;
    if (this.quotas !== null) requestThrottleMs(this.quotas, ctx, response, handlerMs);
    if (response === NO_RESPONSE) return null;
    const w = Writer.frame();
    writeResponseHeader(w, ctx.correlationId, desc.responseHeaderVersion(ctx.apiVersion));
    desc.encodeResponse(w, response, ctx.apiVersion);
    return w.finishFrame();
  }

  #unsupportedApiVersions(correlationId: number): readonly Buffer[] {
    const desc = apiDescriptors.get(ApiKey.ApiVersions);
    if (desc === undefined) throw new Error('ApiVersions missing from the api table');
    const w = Writer.frame();
    writeResponseHeader(w, correlationId, 0);
    desc.encodeResponse(
      w,
      {
        errorCode: ErrorCode.UNSUPPORTED_VERSION,
        apiKeys: this.#versions,
        throttleTimeMs: 0,
        supportedFeatures: [],
        finalizedFeaturesEpoch: -1,
        finalizedFeatures: [],
        zkMigrationReady: false,
      },
      0,
    );
    return w.finishFrame();
  }
}
