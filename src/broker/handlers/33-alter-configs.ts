/**
 * AlterConfigs (key 33), versions 0-2.
 *
 * Behaviour: the legacy, non-incremental alter: the configs given become the resource's whole set
 * of overrides (a config left out goes back to its broker or default value). Checks, in Kafka's
 * order (ConfigAdminManager.preprocess, ZkAdminManager.alterConfigs): a resource named twice
 * fails every copy with INVALID_REQUEST; a config named twice, or a null value, fails the resource
 * with INVALID_REQUEST. TOPIC resources: the empty name is INVALID_REQUEST, an unknown topic
 * UNKNOWN_TOPIC_OR_PARTITION, an unknown config name or invalid value INVALID_CONFIG with the
 * reason. BROKER resources (this broker's id, or "" for the cluster default) answer
 * INVALID_REQUEST "Cannot update these configs dynamically", which is what Kafka answers for a
 * read-only config: this broker has no dynamic broker configs, and DescribeConfigs reports every
 * broker config read-only accordingly. Other resource types answer INVALID_REQUEST.
 * validate_only runs every check and changes nothing. Results come in request order.
 */
import { AclOperation } from '../../common/acl.ts';
import { ErrorCode, errorName } from '../../protocol/error-codes.ts';
import type { AlterConfigsRequest } from '../../protocol/messages/alter-configs-request.ts';
import type { AlterConfigsResponse } from '../../protocol/messages/alter-configs-response.ts';
import { ApiKey } from '../../protocol/messages/api-table.ts';
import { configResourceRefusal } from '../authorization.ts';
import {
  alterBrokerConfigs,
  alterEachResource,
  checkTopicResource,
  type ResourceOutcome,
  ResourceType,
  replaceTopicConfigs,
  resourceError,
} from '../config-describe.ts';
import type { BrokerContext } from '../context.ts';
import { defineHandler, type Handler, type RequestContext } from '../handler.ts';

type ResourceIn = AlterConfigsRequest['resources'][number];

export function alterConfigsHandler(b: BrokerContext): Handler {
  return defineHandler<AlterConfigsRequest, AlterConfigsResponse>({
    apiKey: ApiKey.AlterConfigs,
    minVersion: 0,
    maxVersion: 2,
    handle: (req, ctx) => handleAlterConfigs(b, req, ctx),
  });
}

async function handleAlterConfigs(
  b: BrokerContext,
  req: AlterConfigsRequest,
  ctx: RequestContext,
): Promise<AlterConfigsResponse> {
  const responses = await alterEachResource(req.resources, (r) => {
    const refusal = configResourceRefusal(
      ctx.auth,
      AclOperation.ALTER_CONFIGS,
      r.resourceType,
      r.resourceName,
    );
    if (refusal !== 0) return Promise.resolve(resourceError(refusal, errorName(refusal)));
    return alterResource(b, r, req.validateOnly);
  });
  return { throttleTimeMs: 0, responses };
}

async function alterResource(
  b: BrokerContext,
  r: ResourceIn,
  validateOnly: boolean,
): Promise<ResourceOutcome> {
  const names = r.configs.map((c) => c.name);
  if (new Set(names).size !== names.length) {
    return resourceError(ErrorCode.INVALID_REQUEST, 'Error due to duplicate config keys');
  }
  const nulls = r.configs.filter((c) => c.value === null).map((c) => c.name);
  if (nulls.length > 0) {
    return resourceError(
      ErrorCode.INVALID_REQUEST,
      `Null value not supported for : ${nulls.join(', ')}`,
    );
  }
  switch (r.resourceType) {
    case ResourceType.TOPIC: {
      const bad = checkTopicResource(b, r.resourceName);
      if (bad !== undefined) return bad;
      const overrides = new Map<string, string>();
      for (const c of r.configs) overrides.set(c.name, c.value ?? '');
      return replaceTopicConfigs(b, r.resourceName, overrides, validateOnly);
    }
    case ResourceType.BROKER:
      // AlterConfigs replaces the whole set (the configs not named are deleted).
      return alterBrokerConfigs(
        b,
        r.resourceName,
        () => new Map(r.configs.map((c) => [c.name, c.value ?? ''])),
        validateOnly,
      );
    default:
      return resourceError(
        ErrorCode.INVALID_REQUEST,
        `AlterConfigs is only supported for topics and brokers, but resource type is ${r.resourceType}`,
      );
  }
}
