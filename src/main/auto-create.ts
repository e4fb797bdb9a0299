/**
 * Topic auto-creation (`auto.create.topics.enable`): unknown topics named by Metadata or
 * Produce are created through the controller with the broker defaults, and the request goes on
 * once the partition workers host them.
 */
import { ErrorCode } from '../shared/errors.js';
import { reservedTopicError, topicNameError } from '../shared/topic-name.js';
import type { BrokerContext } from './context.js';

/** Returns the error per topic that could not be made to exist (absent: the topic exists). */
export async function ensureTopics(ctx: BrokerContext, names: string[]): Promise<Map<string, number>> {
  const errors = new Map<string, number>();
  const missing: string[] = [];
  for (const name of new Set(names)) {
    if (ctx.metadata.topic(name)) continue;
    if (topicNameError(name) !== null || reservedTopicError(name) !== null) errors.set(name, ErrorCode.INVALID_TOPIC_EXCEPTION);
    else if (!ctx.config.autoCreateTopics) errors.set(name, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    else missing.push(name);
  }
  if (missing.length === 0) return errors;
  const results = await ctx.raft.request({
    op: 'createTopics',
    topics: missing.map((name) => ({ name, numPartitions: -1, replicationFactor: -1, configs: {} })),
    validateOnly: false,
    timeoutMs: 30_000,
  });
  for (const r of results) {
    if (r.errorCode !== ErrorCode.NONE && r.errorCode !== ErrorCode.TOPIC_ALREADY_EXISTS) {
      errors.set(r.name, r.errorCode === ErrorCode.INVALID_REPLICATION_FACTOR ? ErrorCode.LEADER_NOT_AVAILABLE : r.errorCode);
    }
  }
  await ctx.hostedApplied();
  return errors;
}
