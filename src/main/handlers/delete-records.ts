/**
 * DeleteRecords: each partition goes to the partition worker that holds it, which moves the
 * log start offset if this broker leads it. Answered per partition with the new log start
 * offset (Kafka's low watermark).
 */
import { ErrorCode } from '../../shared/errors.js';
import type { DeleteRecordsRequest } from '../../shared/protocol/generated/delete-records-request.js';
import type { BrokerContext } from '../context.js';
import type { Encodable } from '../../shared/protocol/codec.js';
import type { DeleteRecordsResponse } from '../../shared/protocol/generated/delete-records-response.js';

export async function handleDeleteRecords(ctx: BrokerContext, req: DeleteRecordsRequest): Promise<Encodable<DeleteRecordsResponse>> {
  const topics = await Promise.all(req.topics.map(async (t) => ({
    name: t.name,
    partitions: await Promise.all(t.partitions.map(async (p) => {
      const meta = ctx.metadata.partition(t.name, p.partitionIndex);
      const fail = (errorCode: number) => ({ partitionIndex: p.partitionIndex, lowWatermark: -1, errorCode });
      if (!meta) return fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
      if (meta.leader !== ctx.config.nodeId) return fail(meta.leader < 0 ? ErrorCode.LEADER_NOT_AVAILABLE : ErrorCode.NOT_LEADER_OR_FOLLOWER);
      if (p.offset < -1) return fail(ErrorCode.OFFSET_OUT_OF_RANGE);
      const r = await ctx.workers.deleteRecords(t.name, p.partitionIndex, p.offset);
      return { partitionIndex: p.partitionIndex, ...r };
    })),
  })));
  return { throttleTimeMs: 0, topics };
}
