/**
 * DescribeConfigs, IncrementalAlterConfigs and AlterConfigs for topics and brokers. Changes go
 * to the controller and are answered once their records commit and this broker's partition
 * workers run with them; descriptions are resolved from the metadata cache and this broker's
 * own settings (effective-config.ts), with Kafka's sources and synonyms.
 */
import { ErrorCode } from '../../shared/errors.js';
import { SETTINGS } from '../../shared/config-settings.js';
import {
  ConfigSource, configType, DYNAMIC_BROKER_CONFIGS, resolveBrokerConfig, resolveTopicConfig, TOPIC_CONFIGS, type ResolvedConfig,
} from '../../shared/dynamic-config.js';
import { ConfigOp, ConfigResourceType, type ConfigResourceChange } from '../../shared/metadata-types.js';
import type { DescribeConfigsRequest } from '../../shared/protocol/generated/describe-configs-request.js';
import type { IncrementalAlterConfigsRequest } from '../../shared/protocol/generated/incremental-alter-configs-request.js';
import type { AlterConfigsRequest } from '../../shared/protocol/generated/alter-configs-request.js';
import type { BrokerContext } from '../context.js';
import { brokerLayers } from '../effective-config.js';
import type { Encodable } from '../../shared/protocol/codec.js';
import type { AlterConfigsResponse } from '../../shared/protocol/generated/alter-configs-response.js';
import type { DescribeConfigsResponse, DescribeConfigsResponseDescribeConfigsResult } from '../../shared/protocol/generated/describe-configs-response.js';
import type { IncrementalAlterConfigsResponse } from '../../shared/protocol/generated/incremental-alter-configs-response.js';

const ALTER_TIMEOUT_MS = 30_000;

export function handleIncrementalAlterConfigs(ctx: BrokerContext, req: IncrementalAlterConfigsRequest): Promise<Encodable<IncrementalAlterConfigsResponse>> {
  return alter(ctx, req.resources.map((r) => ({
    resourceType: r.resourceType,
    resourceName: r.resourceName,
    changes: r.configs.map((c) => ({ name: c.name, op: c.configOperation, value: c.value })),
  })), true, req.validateOnly);
}

export function handleAlterConfigs(ctx: BrokerContext, req: AlterConfigsRequest): Promise<Encodable<AlterConfigsResponse>> {
  return alter(ctx, req.resources.map((r) => ({
    resourceType: r.resourceType,
    resourceName: r.resourceName,
    changes: r.configs.map((c) => ({ name: c.name, op: ConfigOp.SET, value: c.value })),
  })), false, req.validateOnly);
}

async function alter(ctx: BrokerContext, resources: ConfigResourceChange[], incremental: boolean, validateOnly: boolean): Promise<Encodable<AlterConfigsResponse>> {
  const results = resources.length === 0 ? [] : await ctx.raft.alterConfigs({ resources, incremental, validateOnly, timeoutMs: ALTER_TIMEOUT_MS });
  if (!validateOnly && results.some((r) => r.errorCode === ErrorCode.NONE)) await ctx.hostedApplied();
  return {
    throttleTimeMs: 0,
    responses: resources.map((r, i) => ({ ...results[i]!, resourceType: r.resourceType, resourceName: r.resourceName })),
  };
}

/** Settings whose values are secrets: described with a null value, as Kafka does. */
function sensitive(name: string): boolean {
  return /password|jaas|\.key$|keystore\.key|certificates$/.test(name);
}

/** The broker's own static settings, as read at start (the dynamic ones are resolved apart). */
function staticBrokerValues(ctx: BrokerContext): Record<string, string> {
  const c = ctx.config;
  const out: Record<string, string> = {};
  for (const name of Object.keys(SETTINGS)) out[name] = SETTINGS[name]!.default;
  Object.assign(out, {
    'node.id': String(c.nodeId),
    'log.dirs': c.logDir,
    'num.partitions': String(c.numPartitions),
    'default.replication.factor': String(c.defaultReplicationFactor),
    'auto.create.topics.enable': String(c.autoCreateTopics),
  });
  return out;
}

interface Described { resolved: ResolvedConfig; readOnly: boolean; type: number }

function describeTopic(ctx: BrokerContext, name: string): Described[] | string {
  const topic = ctx.metadata.topic(name);
  if (!topic) return `Topic ${name} does not exist.`;
  const layers = brokerLayers(ctx.config, ctx.metadata.brokerConfigs());
  const names = [...Object.keys(TOPIC_CONFIGS), ...Object.keys(topic.configs).filter((k) => !(k in TOPIC_CONFIGS))];
  return names.map((k) => ({ resolved: resolveTopicConfig(k, topic.configs, layers), readOnly: false, type: configType(TOPIC_CONFIGS[k]) }));
}

function describeBroker(ctx: BrokerContext, name: string): Described[] | string {
  const layers = brokerLayers(ctx.config, ctx.metadata.brokerConfigs());
  if (name === '') {
    return Object.keys(layers.clusterDefault).map((k) => ({
      resolved: { name: k, value: layers.clusterDefault[k]!, source: ConfigSource.DYNAMIC_DEFAULT_BROKER, synonyms: [{ name: k, value: layers.clusterDefault[k]!, source: ConfigSource.DYNAMIC_DEFAULT_BROKER }] },
      readOnly: false,
      type: configType(DYNAMIC_BROKER_CONFIGS[k]),
    }));
  }
  if (name !== String(ctx.config.nodeId)) return `Unexpected broker id, expected ${ctx.config.nodeId} or empty string, but received ${name}`;
  const out: Described[] = Object.keys(DYNAMIC_BROKER_CONFIGS).map((k) => ({ resolved: resolveBrokerConfig(k, layers), readOnly: false, type: configType(DYNAMIC_BROKER_CONFIGS[k]) }));
  const values = staticBrokerValues(ctx);
  for (const [k, value] of Object.entries(values)) {
    if (k in DYNAMIC_BROKER_CONFIGS) continue;
    const source = ctx.config.staticKeys.includes(k) ? ConfigSource.STATIC_BROKER : ConfigSource.DEFAULT;
    out.push({ resolved: { name: k, value, source, synonyms: [{ name: k, value, source }] }, readOnly: true, type: 0 });
  }
  return out;
}

export function handleDescribeConfigs(ctx: BrokerContext, req: DescribeConfigsRequest): Encodable<DescribeConfigsResponse> {
  const results = req.resources.map((r) => {
    const fail = (errorCode: number, errorMessage: string): Encodable<DescribeConfigsResponseDescribeConfigsResult> => ({ errorCode, errorMessage, resourceType: r.resourceType, resourceName: r.resourceName, configs: [] });
    let described: Described[] | string;
    if (r.resourceType === ConfigResourceType.TOPIC) {
      described = describeTopic(ctx, r.resourceName);
      if (typeof described === 'string') return fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, described);
    } else if (r.resourceType === ConfigResourceType.BROKER) {
      described = describeBroker(ctx, r.resourceName);
      if (typeof described === 'string') return fail(ErrorCode.INVALID_REQUEST, described);
    } else {
      return fail(ErrorCode.INVALID_REQUEST, `unsupported resource type ${r.resourceType}`);
    }
    const keys = r.configurationKeys;
    if (keys) described = described.filter((d) => keys.includes(d.resolved.name));
    return {
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      resourceType: r.resourceType,
      resourceName: r.resourceName,
      configs: described.map(({ resolved, readOnly, type }) => {
        const secret = sensitive(resolved.name);
        return {
          name: resolved.name,
          value: secret ? null : resolved.value,
          readOnly,
          isDefault: resolved.source === ConfigSource.DEFAULT,
          configSource: resolved.source,
          isSensitive: secret,
          synonyms: req.includeSynonyms ? resolved.synonyms.map((s) => ({ ...s, value: secret ? null : s.value })) : [],
          configType: type,
          documentation: null,
        };
      }),
    };
  });
  return { throttleTimeMs: 0, results };
}
