/**
 * IncrementalAlterConfigs (key 44), versions 0-1.
 *
 * Behaviour: each config carries an operation applied to the resource's current overrides:
 * SET (0) sets the value, DELETE (1) removes the override (back to the broker or default value),
 * APPEND (2) and SUBTRACT (3) add or remove items of a list config (cleanup.policy), starting from
 * the override, else the value in force. Checks, in Kafka's order (ConfigAdminManager.preprocess,
 * ZkAdminManager.incrementalAlterConfigs): a resource named twice fails every copy with
 * INVALID_REQUEST; a config named twice fails the resource with INVALID_REQUEST "Error due to
 * duplicate config keys"; a null value on any operation but DELETE is INVALID_REQUEST; an unknown
 * operation is INVALID_REQUEST. TOPIC resources: the empty name is INVALID_REQUEST, an unknown
 * topic UNKNOWN_TOPIC_OR_PARTITION; APPEND or SUBTRACT on a config that is not a list, an unknown
 * config name, or a resulting value that is invalid are INVALID_CONFIG with the reason. The
 * resulting overrides are checked as a whole before anything changes. BROKER resources (this
 * broker's id, or "" for the cluster default) answer INVALID_REQUEST "Cannot update these configs
 * dynamically", as Kafka does for read-only configs: this broker has no dynamic broker configs.
 * BROKER_LOGGER (8) answers INVALID_REQUEST: there are no loggers to change. Other types answer
 * INVALID_REQUEST. validate_only runs every check and changes nothing.
 * Deviation: Kafka starts APPEND/SUBTRACT without an override from the config's hard-wired
 * default, ignoring a broker-level setting (log.cleanup.policy=compact then loses "compact"); this
 * broker starts from the value actually in force.
 */
import { AclOperation } from '../../common/acl.ts';
import { ErrorCode, errorName } from '../../protocol/error-codes.ts';
import { ApiKey } from '../../protocol/messages/api-table.ts';
import type { IncrementalAlterConfigsRequest } from '../../protocol/messages/incremental-alter-configs-request.ts';
import type { IncrementalAlterConfigsResponse } from '../../protocol/messages/incremental-alter-configs-response.ts';
import { configResourceRefusal } from '../authorization.ts';
import {
  alterBrokerConfigs,
  alterEachResource,
  ConfigOperation,
  checkTopicResource,
  isListConfig,
  listItems,
  type ResourceOutcome,
  ResourceType,
  replaceTopicConfigs,
  resourceError,
} from '../config-describe.ts';
import type { BrokerContext } from '../context.ts';
import { defineHandler, type Handler, type RequestContext } from '../handler.ts';

type ResourceIn = IncrementalAlterConfigsRequest['resources'][number];
type ConfigIn = ResourceIn['configs'][number];

export function incrementalAlterConfigsHandler(b: BrokerContext): Handler {
  return defineHandler<IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse>({
    apiKey: ApiKey.IncrementalAlterConfigs,
    minVersion: 0,
    maxVersion: 1,
    handle: (req, ctx) => handleIncrementalAlterConfigs(b, req, ctx),
  });
}

async function handleIncrementalAlterConfigs(
  b: BrokerContext,
  req: IncrementalAlterConfigsRequest,
  ctx: RequestContext,
): Promise<IncrementalAlterConfigsResponse> {
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

function checkEntries(configs: readonly ConfigIn[]): ResourceOutcome | undefined {
  const names = configs.map((c) => c.name);
  if (new Set(names).size !== names.length) {
    return resourceError(ErrorCode.INVALID_REQUEST, 'Error due to duplicate config keys');
  }
  const nulls = configs
    .filter((c) => c.configOperation !== ConfigOperation.DELETE && c.value === null)
    .map((c) => c.name);
  if (nulls.length > 0) {
    return resourceError(
      ErrorCode.INVALID_REQUEST,
      `Null value not supported for : ${nulls.join(', ')}`,
    );
  }
  const unknownOp = configs.find((c) => c.configOperation < 0 || c.configOperation > 3);
  if (unknownOp !== undefined) {
    return resourceError(
      ErrorCode.INVALID_REQUEST,
      `Unknown operations type ${unknownOp.configOperation}`,
    );
  }
  return undefined;
}

async function alterResource(
  b: BrokerContext,
  r: ResourceIn,
  validateOnly: boolean,
): Promise<ResourceOutcome> {
  const bad = checkEntries(r.configs);
  if (bad !== undefined) return bad;
  switch (r.resourceType) {
    case ResourceType.TOPIC: {
      const missing = checkTopicResource(b, r.resourceName);
      if (missing !== undefined) return missing;
      const next = applyOperations(b, r.resourceName, r.configs);
      if (!(next instanceof Map)) return next;
      return replaceTopicConfigs(b, r.resourceName, next, validateOnly);
    }
    case ResourceType.BROKER:
      return alterBrokerConfigs(
        b,
        r.resourceName,
        (current) => {
          const next = new Map(current);
          for (const c of r.configs) {
            if (c.configOperation === ConfigOperation.SET) next.set(c.name, c.value ?? '');
            else if (c.configOperation === ConfigOperation.DELETE) next.delete(c.name);
            else {
              return resourceError(
                ErrorCode.INVALID_REQUEST,
                `APPEND and SUBTRACT are not supported for broker config ${c.name}`,
              );
            }
          }
          return next;
        },
        validateOnly,
      );
    case ResourceType.BROKER_LOGGER:
      return resourceError(ErrorCode.INVALID_REQUEST, 'This broker has no loggers to change.');
    default:
      return resourceError(ErrorCode.INVALID_REQUEST, `Unknown resource type ${r.resourceType}`);
  }
}

/** The topic's overrides after the operations, or why they cannot apply. */
function applyOperations(
  b: BrokerContext,
  topic: string,
  configs: readonly ConfigIn[],
): Map<string, string> | ResourceOutcome {
  const current = b.metadata.get(topic)?.configs ?? new Map<string, string>();
  const next = new Map(current);
  for (const c of configs) {
    const value = c.value ?? '';
    if (c.configOperation === ConfigOperation.SET) {
      next.set(c.name, value);
      continue;
    }
    if (c.configOperation === ConfigOperation.DELETE) {
      next.delete(c.name);
      continue;
    }
    const verb = c.configOperation === ConfigOperation.APPEND ? 'append' : 'subtract';
    if (!isListConfig(c.name)) {
      return resourceError(
        ErrorCode.INVALID_CONFIG,
        `Config value ${verb} is not allowed for config key: ${c.name}`,
      );
    }
    const old = listItems(next.get(c.name) ?? b.config.topicConfigValue(c.name, current));
    const given = listItems(value);
    const items =
      verb === 'append'
        ? [...old, ...given.filter((v) => !old.includes(v))]
        : old.filter((v) => !given.includes(v));
    next.set(c.name, items.join(','));
  }
  return next;
}
