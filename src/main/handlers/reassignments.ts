/**
 * AlterPartitionReassignments (decided by the controller, answered once the change commits)
 * and ListPartitionReassignments (answered from the metadata cache: the partitions whose
 * replica set is moving, with the replicas being added and removed).
 */
import { ErrorCode } from '../../shared/errors.js';
import type { AlterPartitionReassignmentsRequest } from '../../shared/protocol/generated/alter-partition-reassignments-request.js';
import type { ListPartitionReassignmentsRequest } from '../../shared/protocol/generated/list-partition-reassignments-request.js';
import type { BrokerContext } from '../context.js';
import type { Encodable } from '../../shared/protocol/codec.js';
import type { AlterPartitionReassignmentsResponse } from '../../shared/protocol/generated/alter-partition-reassignments-response.js';
import type { ListPartitionReassignmentsResponse, ListPartitionReassignmentsResponseOngoingTopicReassignment } from '../../shared/protocol/generated/list-partition-reassignments-response.js';

export async function handleAlterPartitionReassignments(ctx: BrokerContext, req: AlterPartitionReassignmentsRequest): Promise<Encodable<AlterPartitionReassignmentsResponse>> {
  const partitions = req.topics.flatMap((t) => t.partitions.map((p) => ({ topic: t.name, partition: p.partitionIndex, replicas: p.replicas })));
  const results = partitions.length === 0 ? [] : await ctx.raft.alterReassignments({ partitions, timeoutMs: req.timeoutMs });
  if (results.some((r) => r.errorCode === ErrorCode.NONE)) await ctx.hostedApplied();
  let i = 0;
  return {
    throttleTimeMs: 0,
    errorCode: ErrorCode.NONE,
    errorMessage: null,
    responses: req.topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => {
        const r = results[i++]!;
        return { partitionIndex: p.partitionIndex, errorCode: r.errorCode, errorMessage: r.errorMessage };
      }),
    })),
  };
}

export function handleListPartitionReassignments(ctx: BrokerContext, req: ListPartitionReassignmentsRequest): Encodable<ListPartitionReassignmentsResponse> {
  const wanted = req.topics === null ? null : new Map(req.topics.map((t) => [t.name, new Set(t.partitionIndexes)]));
  const topics: Encodable<ListPartitionReassignmentsResponseOngoingTopicReassignment>[] = [];
  for (const t of ctx.metadata.topics()) {
    const only = wanted?.get(t.name);
    if (wanted !== null && only === undefined) continue;
    const moving = t.partitions.filter((p) => p.reassignment !== undefined && (only === undefined || only.has(p.partition)));
    if (moving.length === 0) continue;
    topics.push({
      name: t.name,
      partitions: moving.map((p) => ({ partitionIndex: p.partition, replicas: p.replicas, addingReplicas: p.reassignment!.adding, removingReplicas: p.reassignment!.removing })),
    });
  }
  return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, topics };
}
