/**
 * The handler registry: one factory per API key, each in its own file. The dispatcher and
 * ApiVersions are built from this list, so adding a handler here is what makes an API supported.
 */
import type { BrokerContext } from '../context.ts';
import type { Handler } from '../handler.ts';
import { produceHandler } from './00-produce.ts';
import { fetchHandler } from './01-fetch.ts';
import { listOffsetsHandler } from './02-list-offsets.ts';
import { metadataHandler } from './03-metadata.ts';
import { apiVersionsHandler } from './18-api-versions.ts';

export function createHandlers(b: BrokerContext): Handler[] {
  return [
    produceHandler(b),
    fetchHandler(b),
    listOffsetsHandler(b),
    metadataHandler(b),
    apiVersionsHandler(b),
  ];
}
