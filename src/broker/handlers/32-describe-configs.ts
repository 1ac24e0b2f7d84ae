/**
 * DescribeConfigs (key 32), versions 0-4.
 *
 * Behaviour: TOPIC resources (type 2) list every topic config with its effective value, source
 * (1 topic override, 4 static broker config, 5 default), read-only false and sensitivity; an
 * invalid name answers INVALID_TOPIC_EXCEPTION and an unknown topic UNKNOWN_TOPIC_OR_PARTITION.
 * BROKER resources (type 4) named by this broker's id list every broker config (source 2 or 3 when
 * set dynamically for this broker or as the cluster-wide default, 4 when set in the config file,
 * else 5); the empty name is the cluster-wide dynamic default: the dynamic defaults set (source
 * 3), as Kafka answers it; another id or a
 * non-number answers INVALID_REQUEST, as Kafka does. BROKER_LOGGER (8) answers INVALID_REQUEST:
 * the broker has no log4j loggers to describe. Any other type answers INVALID_REQUEST
 * "Unsupported resource type". configuration_keys null or empty means every config; otherwise
 * only the named ones (unknown names are left out, as in Kafka). Synonyms are filled only when
 * include_synonyms is set, documentation only when include_documentation is set. See
 * ../config-describe.ts for how values, sources and synonyms are derived.
 * Version notes: v0 has is_default instead of a source: true when the source is DEFAULT_CONFIG
 * (Kafka 3.9 always sends false there; the field means "not set", so it is filled honestly);
 * config_type and documentation exist from v3; v4 is flexible.
 */

import { checkTopicName } from '../../cluster/topic-name.ts';
import { AclOperation } from '../../common/acl.ts';
import { ErrorCode, errorName } from '../../protocol/error-codes.ts';
import { ApiKey } from '../../protocol/messages/api-table.ts';
import type { DescribeConfigsRequest } from '../../protocol/messages/describe-configs-request.ts';
import type { DescribeConfigsResponse } from '../../protocol/messages/describe-configs-response.ts';
import { configResourceRefusal } from '../authorization.ts';
import {
  ConfigSource,
  checkBrokerResourceName,
  type DescribedConfig,
  describeBrokerConfigs,
  describeBrokerDefaults,
  describeTopicConfigs,
  filterConfigs,
  ResourceType,
} from '../config-describe.ts';
import type { BrokerContext } from '../context.ts';
import { defineHandler, type Handler, type RequestContext } from '../handler.ts';

type ResourceIn = DescribeConfigsRequest['resources'][number];
type ResultOut = DescribeConfigsResponse['results'][number];
type ConfigOut = ResultOut['configs'][number];

interface Options {
  readonly v0: boolean;
  readonly synonyms: boolean;
  readonly documentation: boolean;
}

export function describeConfigsHandler(b: BrokerContext): Handler {
  return defineHandler<DescribeConfigsRequest, DescribeConfigsResponse>({
    apiKey: ApiKey.DescribeConfigs,
    minVersion: 0,
    maxVersion: 4,
    handle: (req, ctx) => handleDescribeConfigs(b, req, ctx),
  });
}

function handleDescribeConfigs(
  b: BrokerContext,
  req: DescribeConfigsRequest,
  ctx: RequestContext,
): DescribeConfigsResponse {
  const options: Options = {
    v0: ctx.apiVersion === 0,
    synonyms: ctx.apiVersion >= 1 && req.includeSynonyms,
    documentation: ctx.apiVersion >= 3 && req.includeDocumentation,
  };
  return {
    throttleTimeMs: 0,
    results: req.resources.map((r) => {
      const refusal = configResourceRefusal(
        ctx.auth,
        AclOperation.DESCRIBE_CONFIGS,
        r.resourceType,
        r.resourceName,
      );
      if (refusal === 0) return describeResource(b, r, options);
      return {
        errorCode: refusal,
        errorMessage: errorName(refusal),
        resourceType: r.resourceType,
        resourceName: r.resourceName,
        configs: [],
      };
    }),
  };
}

function describeResource(b: BrokerContext, r: ResourceIn, options: Options): ResultOut {
  const fail = (errorCode: number, message: string): ResultOut => ({
    errorCode,
    errorMessage: message,
    resourceType: r.resourceType,
    resourceName: r.resourceName,
    configs: [],
  });
  let configs: DescribedConfig[];
  switch (r.resourceType) {
    case ResourceType.TOPIC: {
      const invalid = checkTopicName(r.resourceName);
      if (invalid !== undefined) return fail(ErrorCode.INVALID_TOPIC_EXCEPTION, invalid);
      const topic = b.metadata.get(r.resourceName);
      if (topic === undefined) {
        return fail(
          ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
          `The topic '${r.resourceName}' does not exist.`,
        );
      }
      configs = describeTopicConfigs(b.config, topic.configs);
      break;
    }
    case ResourceType.BROKER: {
      const invalid = checkBrokerResourceName(r.resourceName, b.nodeId);
      if (invalid !== undefined) return fail(ErrorCode.INVALID_REQUEST, invalid);
      configs =
        r.resourceName === '' ? describeBrokerDefaults(b.config) : describeBrokerConfigs(b.config);
      break;
    }
    case ResourceType.BROKER_LOGGER:
      return fail(ErrorCode.INVALID_REQUEST, 'This broker has no loggers to describe.');
    default:
      return fail(ErrorCode.INVALID_REQUEST, `Unsupported resource type: ${r.resourceType}`);
  }
  return {
    errorCode: 0,
    errorMessage: null,
    resourceType: r.resourceType,
    resourceName: r.resourceName,
    configs: filterConfigs(configs, r.configurationKeys).map((c) => configOut(c, options)),
  };
}

function configOut(c: DescribedConfig, options: Options): ConfigOut {
  return {
    name: c.name,
    value: c.value,
    readOnly: c.readOnly,
    isDefault: options.v0 && c.source === ConfigSource.DEFAULT_CONFIG,
    configSource: c.source,
    isSensitive: c.isSensitive,
    synonyms: options.synonyms ? c.synonyms.map((s) => ({ ...s })) : [],
    configType: c.configType,
    documentation: options.documentation ? c.documentation : null,
  };
}
