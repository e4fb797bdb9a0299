/**
 * CreateTopics, DeleteTopics and CreatePartitions: validated here where only the request is
 * needed, then sent to the controller through the raft worker and answered after the records
 * commit.
 */
import { ErrorCode } from '../../shared/errors.js';
import type { CreateTopicsRequest } from '../../shared/protocol/generated/create-topics-request.js';
import type { DeleteTopicsRequest } from '../../shared/protocol/generated/delete-topics-request.js';
import type { CreatePartitionsRequest } from '../../shared/protocol/generated/create-partitions-request.js';
import type { RequestHeaderInfo } from '../../shared/protocol/headers.js';
import { ZERO_UUID } from '../../shared/protocol/codec.js';
import type { CreatableTopic, DeletableTopic } from '../../shared/metadata-types.js';
import { hexToWireUuid, wireUuidToHex } from '../../shared/topic-id.js';
import type { BrokerContext } from '../context.js';
import { configValueError, TOPIC_CONFIGS } from '../../shared/dynamic-config.js';

export async function handleCreateTopics(ctx: BrokerContext, req: CreateTopicsRequest): Promise<object> {
  const early = new Map<string, { errorCode: number; errorMessage: string }>();
  // A name given twice is refused in every entry and created in none, as Kafka does.
  const seen = new Set<string>();
  for (const t of req.topics) {
    if (seen.has(t.name)) early.set(t.name, { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: 'Duplicate topic name.' });
    seen.add(t.name);
  }
  const topics: CreatableTopic[] = [];
  for (const t of req.topics) {
    if (early.has(t.name)) continue;
    const unknown = t.configs.find((c) => !(c.name in TOPIC_CONFIGS));
    if (unknown) {
      early.set(t.name, { errorCode: ErrorCode.INVALID_CONFIG, errorMessage: `Unknown topic config name: ${unknown.name}` });
      continue;
    }
    const invalid = t.configs.map((c) => (c.value === null ? null : configValueError(c.name, TOPIC_CONFIGS[c.name]!, c.value))).find((e) => e !== null);
    if (invalid) {
      early.set(t.name, { errorCode: ErrorCode.INVALID_CONFIG, errorMessage: invalid });
      continue;
    }
    const configs: Record<string, string> = {};
    for (const c of t.configs) if (c.value !== null) configs[c.name] = c.value;
    topics.push({
      name: t.name,
      numPartitions: t.numPartitions,
      replicationFactor: t.replicationFactor,
      assignments: t.assignments.length ? t.assignments.map((a) => ({ partition: a.partitionIndex, replicas: a.brokerIds })) : undefined,
      configs,
    });
  }
  const results = topics.length ? await ctx.raft.request({ op: 'createTopics', topics, validateOnly: req.validateOnly, timeoutMs: req.timeoutMs }) : [];
  if (!req.validateOnly && results.some((r) => r.errorCode === ErrorCode.NONE)) await ctx.hostedApplied();
  const byName = new Map(results.map((r) => [r.name, r]));
  return {
    throttleTimeMs: 0,
    topics: req.topics.map((t) => {
      const e = early.get(t.name);
      if (e) return { name: t.name, topicId: ZERO_UUID, errorCode: e.errorCode, errorMessage: e.errorMessage, numPartitions: -1, replicationFactor: -1, configs: null };
      const r = byName.get(t.name)!;
      return {
        name: t.name,
        topicId: r.id ? hexToWireUuid(r.id) : ZERO_UUID,
        errorCode: r.errorCode,
        errorMessage: r.errorMessage,
        numPartitions: r.numPartitions ?? -1,
        replicationFactor: r.replicationFactor ?? -1,
        configs: r.errorCode === ErrorCode.NONE ? [] : null,
      };
    }),
  };
}

export async function handleDeleteTopics(ctx: BrokerContext, req: DeleteTopicsRequest, h: RequestHeaderInfo): Promise<object> {
  const named: DeletableTopic[] =
    h.apiVersion >= 6
      ? req.topics.map((t) => (t.name !== null ? { name: t.name } : { id: wireUuidToHex(t.topicId) }))
      : req.topicNames.map((name) => ({ name }));
  if (!ctx.config.deleteTopicEnable) {
    return { throttleTimeMs: 0, responses: named.map((t) => ({ name: 'name' in t ? t.name : null, topicId: 'id' in t ? hexToWireUuid(t.id) : ZERO_UUID, errorCode: ErrorCode.TOPIC_DELETION_DISABLED, errorMessage: 'delete.topic.enable is false' })) };
  }
  const results = await ctx.raft.request({ op: 'deleteTopics', topics: named, timeoutMs: req.timeoutMs });
  await ctx.hostedApplied();
  return {
    throttleTimeMs: 0,
    responses: results.map((r) => ({ name: r.name === '' ? null : r.name, topicId: r.id ? hexToWireUuid(r.id) : ZERO_UUID, errorCode: r.errorCode, errorMessage: r.errorMessage })),
  };
}

export async function handleCreatePartitions(ctx: BrokerContext, req: CreatePartitionsRequest): Promise<object> {
  const results = await ctx.raft.request({
    op: 'createPartitions',
    topics: req.topics.map((t) => ({ name: t.name, count: t.count, assignments: t.assignments ? t.assignments.map((a) => a.brokerIds) : undefined })),
    validateOnly: req.validateOnly,
    timeoutMs: req.timeoutMs,
  });
  if (!req.validateOnly) await ctx.hostedApplied();
  return { throttleTimeMs: 0, results: results.map((r) => ({ name: r.name, errorCode: r.errorCode, errorMessage: r.errorMessage })) };
}
