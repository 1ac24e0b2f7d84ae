/**
 * ApiVersions (key 18), versions 0-4.
 *
 * Behaviour: answers the version ranges of every registered handler, so what is advertised is
 * exactly what is implemented. A request at a version above 4 never reaches this handler: the
 * dispatcher answers it at v0 with UNSUPPORTED_VERSION and the same ranges (KIP-511).
 * Version notes: the response header is always v0, even for flexible versions (the generated
 * api table encodes that); v3+ carries client software name/version, which are accepted unchecked.
 */
import { ApiKey } from '../../protocol/messages/api-table.ts';
import type { ApiVersionsRequest } from '../../protocol/messages/api-versions-request.ts';
import type { ApiVersionsResponse } from '../../protocol/messages/api-versions-response.ts';
import type { BrokerContext } from '../context.ts';
import { defineHandler, type Handler } from '../handler.ts';

export function apiVersionsHandler(b: BrokerContext): Handler {
  return defineHandler<ApiVersionsRequest, ApiVersionsResponse>({
    apiKey: ApiKey.ApiVersions,
    minVersion: 0,
    maxVersion: 4,
    handle: () => ({
      errorCode: 0,
      apiKeys: b.apiVersions.map((v) => ({ ...v })),
      throttleTimeMs: 0,
      supportedFeatures: [],
      finalizedFeaturesEpoch: -1,
      finalizedFeatures: [],
      zkMigrationReady: false,
    }),
  });
}
