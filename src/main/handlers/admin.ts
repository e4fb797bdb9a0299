/**
 * CreateTopics, DeleteTopics and CreatePartitions: validated here where only the request is
 * needed, then sent to the controller through the raft worker and answered after the records
 * commit and this broker's partition workers applied them.
 *
 * A new partition of this broker whose log cannot be opened (the process is out of file
 * descriptors even after closing idle ones, or the disk refuses the files) fails the request
 * with POLICY_VIOLATION, the error Kafka's controller gives an operation too large for it to
 * take on ("Unable to perform excessively large batch operation"): clients show it as a
 * refusal with the broker's message, and do not retry it as they would KAFKA_STORAGE_ERROR.
 * A topic is then deleted again, so the error means it was not created; partitions added by
 * CreatePartitions cannot be taken back and stay unavailable here until their logs open (each
 * metadata change retries). Only this broker's partitions are checked: another broker's
 * failure shows in its own log.
 */
import { ErrorCode } from '../../shared/errors.js';
import type { CreateTopicsRequest } from '../../shared/protocol/generated/create-topics-request.js';
import type { DeleteTopicsRequest } from '../../shared/protocol/generated/delete-topics-request.js';
import type { CreatePartitionsRequest } from '../../shared/protocol/generated/create-partitions-request.js';
import type { RequestHeaderInfo } from '../../shared/protocol/headers.js';
import { ZERO_UUID } from '../../shared/protocol/codec.js';
import type { CreatableTopic, DeletableTopic, TopicResult } from '../../shared/metadata-types.js';
import { hexToWireUuid, wireUuidToHex } from '../../shared/topic-id.js';
import type { BrokerContext } from '../context.js';
import { configValueError, TOPIC_CONFIGS } from '../../shared/dynamic-config.js';
import type { Encodable } from '../../shared/protocol/codec.js';
import type { CreatePartitionsResponse } from '../../shared/protocol/generated/create-partitions-response.js';
import type { CreateTopicsResponse } from '../../shared/protocol/generated/create-topics-response.js';
import type { DeleteTopicsResponse } from '../../shared/protocol/generated/delete-topics-response.js';

export async function handleCreateTopics(ctx: BrokerContext, req: CreateTopicsRequest): Promise<Encodable<CreateTopicsResponse>> {
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
  let results = topics.length ? await ctx.raft.request({ op: 'createTopics', topics, validateOnly: req.validateOnly, timeoutMs: req.timeoutMs }) : [];
  if (!req.validateOnly && results.some((r) => r.errorCode === ErrorCode.NONE)) {
    await ctx.hostedApplied();
    const unhosted = unhostedTopics(ctx, results.filter((r) => r.errorCode === ErrorCode.NONE).map((r) => r.name));
    if (unhosted.size) {
      await ctx.raft.request({ op: 'deleteTopics', topics: [...unhosted.keys()].map((name) => ({ name })), timeoutMs: req.timeoutMs });
      await ctx.hostedApplied();
      results = results.map((r): TopicResult => {
        const why = unhosted.get(r.name);
        return why === undefined ? r : { name: r.name, errorCode: ErrorCode.POLICY_VIOLATION, errorMessage: `${why}; the topic was not created.` };
      });
    }
  }
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

export async function handleDeleteTopics(ctx: BrokerContext, req: DeleteTopicsRequest, h: RequestHeaderInfo): Promise<Encodable<DeleteTopicsResponse>> {
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

export async function handleCreatePartitions(ctx: BrokerContext, req: CreatePartitionsRequest): Promise<Encodable<CreatePartitionsResponse>> {
  const results = await ctx.raft.request({
    op: 'createPartitions',
    topics: req.topics.map((t) => ({ name: t.name, count: t.count, assignments: t.assignments ? t.assignments.map((a) => a.brokerIds) : undefined })),
    validateOnly: req.validateOnly,
    timeoutMs: req.timeoutMs,
  });
  if (!req.validateOnly) await ctx.hostedApplied();
  const unhosted = req.validateOnly ? new Map<string, string>() : unhostedTopics(ctx, results.filter((r) => r.errorCode === ErrorCode.NONE).map((r) => r.name));
  return {
    throttleTimeMs: 0,
    results: results.map((r) => {
      const why = unhosted.get(r.name);
      if (why !== undefined) {
        return { name: r.name, errorCode: ErrorCode.POLICY_VIOLATION, errorMessage: `${why}; they stay unavailable there until their logs can be opened.` };
      }
      return { name: r.name, errorCode: r.errorCode, errorMessage: r.errorMessage };
    }),
  };
}

/** Topics among `names` with partitions whose logs this broker could not open: name -> why. */
function unhostedTopics(ctx: BrokerContext, names: string[]): Map<string, string> {
  const wanted = new Set(names);
  const failed = new Map<string, { count: number; error: string }>();
  for (const f of ctx.hostingFailures()) {
    if (!wanted.has(f.topic)) continue;
    const seen = failed.get(f.topic);
    if (seen) seen.count++;
    else failed.set(f.topic, { count: 1, error: f.error });
  }
  const why = new Map<string, string>();
  for (const [topic, { count, error }] of failed) {
    why.set(topic, `Broker ${ctx.config.nodeId} cannot open the logs of ${count} partition(s) of topic '${topic}' (${error})`);
  }
  return why;
}
