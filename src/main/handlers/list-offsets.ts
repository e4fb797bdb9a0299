/**
 * ListOffsets: earliest (-2), latest (-1), max timestamp (-3) or by timestamp, per partition.
 * Under isolation_level 1 (read_committed) latest is the last stable offset.
 */
import { ErrorCode } from '../../shared/errors.js';
import { MsgType, type ListOffsetsResultMsg } from '../../shared/thread-messages.js';
import type { ListOffsetsRequest } from '../../shared/protocol/generated/list-offsets-request.js';
import type { BrokerContext } from '../context.js';
import { scatter, type Part } from '../scatter.js';
import { leaderError } from '../partition-leader.js';
import type { Encodable } from '../../shared/protocol/codec.js';
import type { ListOffsetsResponse } from '../../shared/protocol/generated/list-offsets-response.js';

export async function handleListOffsets(ctx: BrokerContext, req: ListOffsetsRequest): Promise<Encodable<ListOffsetsResponse>> {
  const parts: Part[] = [];
  const items = req.topics.map((t) =>
    t.partitions.map((p) => {
      const meta = ctx.metadata.partition(t.name, p.partitionIndex);
      const error = leaderError(meta, ctx.config.nodeId, p.currentLeaderEpoch);
      if (error !== ErrorCode.NONE) return { partition: p.partitionIndex, error, part: -1 };
      parts.push({
        worker: ctx.workers.ownerOf(t.name, p.partitionIndex),
        msg: { type: MsgType.LIST_OFFSETS, topic: t.name, partition: p.partitionIndex, currentLeaderEpoch: p.currentLeaderEpoch, timestamp: p.timestamp, readCommitted: req.isolationLevel === 1 },
      });
      return { partition: p.partitionIndex, error, part: parts.length - 1 };
    }),
  );
  const results = await scatter<ListOffsetsResultMsg>(ctx.workers, parts);
  return {
    throttleTimeMs: 0,
    topics: req.topics.map((t, ti) => ({
      name: t.name,
      partitions: items[ti]!.map((it) => {
        const r = it.part >= 0 ? results[it.part]! : undefined;
        return {
          partitionIndex: it.partition,
          errorCode: r ? r.error : it.error,
          timestamp: r ? r.timestamp : -1,
          offset: r ? r.offset : -1,
          leaderEpoch: r ? r.leaderEpoch : -1,
        };
      }),
    })),
  };
}
