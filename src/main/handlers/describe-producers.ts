/**
 * DescribeProducers: the producers each partition's leader remembers (their epoch, last
 * sequence, open transaction), asked of the partition worker that holds the log. A partition
 * this broker does not lead is answered NOT_LEADER_OR_FOLLOWER, as Kafka's broker answers.
 */
import { ErrorCode } from '../../shared/errors.js';
import type { DescribeProducersRequest } from '../../shared/protocol/generated/describe-producers-request.js';
import type { DescribeProducersResponse } from '../../shared/protocol/generated/describe-producers-response.js';
import type { Encodable } from '../../shared/protocol/codec.js';
import type { BrokerContext } from '../context.js';

export async function handleDescribeProducers(ctx: BrokerContext, req: DescribeProducersRequest): Promise<Encodable<DescribeProducersResponse>> {
  const topics = await Promise.all(req.topics.map(async (t) => ({
    name: t.name,
    partitions: await Promise.all(t.partitionIndexes.map(async (partitionIndex) => {
      const fail = (errorCode: number) => ({ partitionIndex, errorCode, errorMessage: null, activeProducers: [] });
      const meta = ctx.metadata.partition(t.name, partitionIndex);
      if (!meta) return fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
      if (meta.leader !== ctx.config.nodeId) return fail(ErrorCode.NOT_LEADER_OR_FOLLOWER);
      const r = await ctx.workers.describeProducers(t.name, partitionIndex);
      return { partitionIndex, errorCode: r.errorCode, errorMessage: null, activeProducers: r.producers };
    })),
  })));
  return { throttleTimeMs: 0, topics };
}
