/**
 * Consumer-group APIs: FindCoordinator, the classic group membership APIs (JoinGroup,
 * SyncGroup, Heartbeat, LeaveGroup), committed offsets (OffsetCommit, OffsetFetch) and group
 * administration (ListGroups, DescribeGroups, DeleteGroups). Each handler turns the request
 * into the coordinator's terms and its answer into the response of the request's version.
 * FindCoordinator for a transactional id is answered by the transaction coordinator.
 */
import { ErrorCode } from '../../shared/errors.js';
import type { FetchedOffset } from '../../shared/groups/group-io.js';
import { ApiKey } from '../../shared/protocol/generated/api-keys.js';
import type { ConsumerGroupDescribeRequest } from '../../shared/protocol/generated/consumer-group-describe-request.js';
import type { ConsumerGroupHeartbeatRequest } from '../../shared/protocol/generated/consumer-group-heartbeat-request.js';
import type { DeleteGroupsRequest } from '../../shared/protocol/generated/delete-groups-request.js';
import type { DescribeGroupsRequest } from '../../shared/protocol/generated/describe-groups-request.js';
import type { FindCoordinatorRequest } from '../../shared/protocol/generated/find-coordinator-request.js';
import type { HeartbeatRequest } from '../../shared/protocol/generated/heartbeat-request.js';
import type { JoinGroupRequest } from '../../shared/protocol/generated/join-group-request.js';
import type { LeaveGroupRequest } from '../../shared/protocol/generated/leave-group-request.js';
import type { ListGroupsRequest } from '../../shared/protocol/generated/list-groups-request.js';
import type { OffsetDeleteRequest } from '../../shared/protocol/generated/offset-delete-request.js';
import type { OffsetCommitRequest } from '../../shared/protocol/generated/offset-commit-request.js';
import type { OffsetFetchRequest } from '../../shared/protocol/generated/offset-fetch-request.js';
import type { SyncGroupRequest } from '../../shared/protocol/generated/sync-group-request.js';
import type { RequestHeaderInfo } from '../../shared/protocol/headers.js';
import type { ErrorResponse } from '../api.js';
import type { Connection } from '../connection.js';
import type { BrokerContext } from '../context.js';
import type { Encodable } from '../../shared/protocol/codec.js';
import type { ConsumerGroupDescribeResponse } from '../../shared/protocol/generated/consumer-group-describe-response.js';
import type { ConsumerGroupHeartbeatResponse } from '../../shared/protocol/generated/consumer-group-heartbeat-response.js';
import type { DeleteGroupsResponse } from '../../shared/protocol/generated/delete-groups-response.js';
import type { DescribeGroupsResponse } from '../../shared/protocol/generated/describe-groups-response.js';
import type { FindCoordinatorResponse } from '../../shared/protocol/generated/find-coordinator-response.js';
import type { HeartbeatResponse } from '../../shared/protocol/generated/heartbeat-response.js';
import type { JoinGroupResponse } from '../../shared/protocol/generated/join-group-response.js';
import type { LeaveGroupResponse } from '../../shared/protocol/generated/leave-group-response.js';
import type { ListGroupsResponse } from '../../shared/protocol/generated/list-groups-response.js';
import type { OffsetCommitResponse } from '../../shared/protocol/generated/offset-commit-response.js';
import type { OffsetDeleteResponse } from '../../shared/protocol/generated/offset-delete-response.js';
import type { OffsetFetchResponse, OffsetFetchResponseOffsetFetchResponsePartition, OffsetFetchResponseOffsetFetchResponseTopic } from '../../shared/protocol/generated/offset-fetch-response.js';
import type { SyncGroupResponse } from '../../shared/protocol/generated/sync-group-response.js';

const GROUP_KEY = 0;
const TRANSACTION_KEY = 1;
/** DescribeGroups: authorized operations not asked for. */
const OPERATIONS_OMITTED = -2147483648;

export async function handleFindCoordinator(ctx: BrokerContext, req: FindCoordinatorRequest, h: RequestHeaderInfo, conn: Connection): Promise<Encodable<FindCoordinatorResponse>> {
  const keys = h.apiVersion >= 4 ? req.coordinatorKeys : [req.key];
  const found = await Promise.all(
    keys.map(async (key) => {
      if (req.keyType === GROUP_KEY) return { key, ...(await ctx.groups.findCoordinator(key)) };
      if (req.keyType === TRANSACTION_KEY) return { key, ...(await ctx.txns.findCoordinator(key)) };
      return { key, errorCode: ErrorCode.INVALID_REQUEST, nodeId: -1, host: '', port: -1 };
    }),
  );
  // The coordinator at the address of the listener this client came in on.
  const withMessage = found.map((c) => {
    const at = c.errorCode === ErrorCode.NONE ? ctx.metadata.endpoint(c.nodeId, conn.listener) : undefined;
    return { ...c, ...(at ? { host: at.host, port: at.port } : {}), errorMessage: c.errorCode === ErrorCode.NONE ? null : errorName(c.errorCode) };
  });
  if (h.apiVersion >= 4) return { throttleTimeMs: 0, coordinators: withMessage };
  return { throttleTimeMs: 0, ...withMessage[0]! };
}

export async function handleJoinGroup(ctx: BrokerContext, req: JoinGroupRequest, h: RequestHeaderInfo): Promise<Encodable<JoinGroupResponse>> {
  const r = await ctx.groups.join({
    groupId: req.groupId,
    memberId: req.memberId,
    groupInstanceId: req.groupInstanceId,
    clientId: h.clientId ?? '',
    clientHost: '',
    sessionTimeoutMs: req.sessionTimeoutMs,
    rebalanceTimeoutMs: h.apiVersion === 0 ? req.sessionTimeoutMs : req.rebalanceTimeoutMs,
    protocolType: req.protocolType,
    protocols: req.protocols.map((p) => ({ name: p.name, metadata: Buffer.from(p.metadata) })),
    requireKnownMemberId: h.apiVersion >= 4,
  });
  // Before v7 the protocol name cannot be null on the wire.
  return { throttleTimeMs: 0, ...r, protocolName: r.protocolName ?? (h.apiVersion >= 7 ? null : '') };
}

export async function handleSyncGroup(ctx: BrokerContext, req: SyncGroupRequest): Promise<Encodable<SyncGroupResponse>> {
  const r = await ctx.groups.sync({
    groupId: req.groupId,
    generationId: req.generationId,
    memberId: req.memberId,
    groupInstanceId: req.groupInstanceId,
    protocolType: req.protocolType,
    protocolName: req.protocolName,
    assignments: req.assignments.map((a) => ({ memberId: a.memberId, assignment: Buffer.from(a.assignment) })),
  });
  return { throttleTimeMs: 0, ...r };
}

export async function handleHeartbeat(ctx: BrokerContext, req: HeartbeatRequest): Promise<Encodable<HeartbeatResponse>> {
  const r = await ctx.groups.heartbeat({ groupId: req.groupId, generationId: req.generationId, memberId: req.memberId, groupInstanceId: req.groupInstanceId });
  return { throttleTimeMs: 0, errorCode: r.errorCode };
}

export async function handleLeaveGroup(ctx: BrokerContext, req: LeaveGroupRequest, h: RequestHeaderInfo): Promise<Encodable<LeaveGroupResponse>> {
  const batched = h.apiVersion >= 3;
  const members = batched ? req.members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId })) : [{ memberId: req.memberId, groupInstanceId: null }];
  const r = await ctx.groups.leave(req.groupId, members);
  return { throttleTimeMs: 0, errorCode: batched ? r.errorCode : (r.members[0]?.errorCode ?? r.errorCode), members: r.members };
}

export async function handleOffsetCommit(ctx: BrokerContext, req: OffsetCommitRequest): Promise<Encodable<OffsetCommitResponse>> {
  const offsets = req.topics.flatMap((t) =>
    t.partitions.map((p) => ({ topic: t.name, partition: p.partitionIndex, offset: p.committedOffset, leaderEpoch: p.committedLeaderEpoch, metadata: p.committedMetadata })),
  );
  const r = await ctx.groups.commitOffsets({
    groupId: req.groupId,
    generationId: req.generationIdOrMemberEpoch,
    memberId: req.memberId,
    groupInstanceId: req.groupInstanceId,
    offsets,
  });
  let i = 0;
  return {
    throttleTimeMs: 0,
    topics: req.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: r.errorCodes[i++]! })) })),
  };
}

type TopicsAsked = { name: string; partitionIndexes: number[] }[] | null;

/**
 * One group's offsets in the response's shape: grouped by topic, in the order asked. With
 * `requireStable` (v7+), a partition whose offset an open transaction has committed answers
 * UNSTABLE_OFFSET_COMMIT, which clients retry until the transaction ends.
 */
function offsetsOf(
  ctx: BrokerContext,
  groupId: string,
  asked: TopicsAsked,
  requireStable: boolean,
  member: { memberId: string | null; memberEpoch: number } | null = null,
): { errorCode: number; topics: Encodable<OffsetFetchResponseOffsetFetchResponseTopic>[] } {
  const r = ctx.groups.fetchOffsets(groupId, asked === null ? null : asked.map((t) => ({ name: t.name, partitions: t.partitionIndexes })), member);
  const rows: FetchedOffset[] =
    r.errorCode === ErrorCode.NONE
      ? r.offsets.map((o) => (requireStable && ctx.groups.unstableOffset(groupId, o.topic, o.partition) ? { ...o, offset: -1, errorCode: ErrorCode.UNSTABLE_OFFSET_COMMIT } : o))
      : (asked ?? []).flatMap((t) => t.partitionIndexes.map((p) => ({ topic: t.name, partition: p, offset: -1, leaderEpoch: -1, metadata: '', errorCode: r.errorCode })));
  const byTopic = new Map<string, Encodable<OffsetFetchResponseOffsetFetchResponsePartition>[]>();
  for (const o of rows) {
    let list = byTopic.get(o.topic);
    if (!list) byTopic.set(o.topic, (list = []));
    list.push({ partitionIndex: o.partition, committedOffset: o.offset, committedLeaderEpoch: o.leaderEpoch, metadata: o.metadata, errorCode: o.errorCode });
  }
  return { errorCode: r.errorCode, topics: [...byTopic].map(([name, partitions]) => ({ name, partitions })) };
}

export function handleOffsetFetch(ctx: BrokerContext, req: OffsetFetchRequest, h: RequestHeaderInfo): Encodable<OffsetFetchResponse> {
  if (h.apiVersion >= 8) {
    return { throttleTimeMs: 0, groups: req.groups.map((g) => ({ groupId: g.groupId, ...offsetsOf(ctx, g.groupId, g.topics, req.requireStable, h.apiVersion >= 9 ? g : null) })) };
  }
  return { throttleTimeMs: 0, ...offsetsOf(ctx, req.groupId, req.topics, h.apiVersion >= 7 && req.requireStable) };
}

export function handleListGroups(ctx: BrokerContext, req: ListGroupsRequest): Encodable<ListGroupsResponse> {
  const r = ctx.groups.list();
  const states = new Set(req.statesFilter.map((s) => s.toLowerCase()));
  const types = new Set(req.typesFilter.map((s) => s.toLowerCase()));
  const groups = r.groups.filter((g) => (states.size === 0 || states.has(g.groupState.toLowerCase())) && (types.size === 0 || types.has(g.groupType)));
  return { throttleTimeMs: 0, errorCode: r.errorCode, groups };
}

export async function handleConsumerGroupHeartbeat(ctx: BrokerContext, req: ConsumerGroupHeartbeatRequest, h: RequestHeaderInfo): Promise<Encodable<ConsumerGroupHeartbeatResponse>> {
  const r = await ctx.groups.consumerHeartbeat({ ...req, clientId: h.clientId ?? '', clientHost: '' });
  return { throttleTimeMs: 0, ...r, errorMessage: r.errorMessage ?? (r.errorCode === ErrorCode.NONE ? null : errorName(r.errorCode)) };
}

export function handleConsumerGroupDescribe(ctx: BrokerContext, req: ConsumerGroupDescribeRequest): Encodable<ConsumerGroupDescribeResponse> {
  return { throttleTimeMs: 0, groups: req.groupIds.map((id) => ({ ...ctx.groups.consumerDescribe(id), authorizedOperations: OPERATIONS_OMITTED })) };
}

export async function handleOffsetDelete(ctx: BrokerContext, req: OffsetDeleteRequest): Promise<Encodable<OffsetDeleteResponse>> {
  const partitions = req.topics.flatMap((t) => t.partitions.map((p) => ({ topic: t.name, partition: p.partitionIndex })));
  const r = await ctx.groups.deleteOffsets(req.groupId, partitions);
  if (r.errorCode !== ErrorCode.NONE) return { throttleTimeMs: 0, errorCode: r.errorCode, topics: [] };
  let i = 0;
  return {
    throttleTimeMs: 0,
    errorCode: ErrorCode.NONE,
    topics: req.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: r.partitionErrors[i++]! })) })),
  };
}

export function handleDescribeGroups(ctx: BrokerContext, req: DescribeGroupsRequest): Encodable<DescribeGroupsResponse> {
  return { throttleTimeMs: 0, groups: req.groups.map((g) => ({ ...ctx.groups.describe(g), authorizedOperations: OPERATIONS_OMITTED })) };
}

export async function handleDeleteGroups(ctx: BrokerContext, req: DeleteGroupsRequest): Promise<Encodable<DeleteGroupsResponse>> {
  const results = await Promise.all(req.groupsNames.map(async (groupId) => ({ groupId, errorCode: (await ctx.groups.deleteGroup(groupId)).errorCode })));
  return { throttleTimeMs: 0, results };
}

function errorName(code: number): string {
  return Object.entries(ErrorCode).find(([, v]) => v === code)?.[0] ?? `error ${code}`;
}

export const findCoordinatorError: ErrorResponse<typeof ApiKey.FindCoordinator> = (req, errorCode) => ({
  errorCode, nodeId: -1, host: '', port: -1, coordinators: (req.coordinatorKeys ?? []).map((key) => ({ key, errorCode, nodeId: -1, host: '', port: -1 })),
});

export const leaveGroupError: ErrorResponse<typeof ApiKey.LeaveGroup> = (req, errorCode) => ({
  errorCode, members: (req.members ?? []).map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, errorCode })),
});

export const offsetCommitError: ErrorResponse<typeof ApiKey.OffsetCommit> = (req, errorCode) => ({
  topics: req.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode })) })),
});

export const offsetFetchError: ErrorResponse<typeof ApiKey.OffsetFetch> = (req, errorCode) => ({
  errorCode, topics: [], groups: (req.groups ?? []).map((g) => ({ groupId: g.groupId, errorCode, topics: [] })),
});

export const describeGroupsError: ErrorResponse<typeof ApiKey.DescribeGroups> = (req, errorCode) => ({
  groups: req.groups.map((groupId) => ({ groupId, errorCode, groupState: '', protocolType: '', protocolData: '', members: [], authorizedOperations: OPERATIONS_OMITTED })),
});

export const deleteGroupsError: ErrorResponse<typeof ApiKey.DeleteGroups> = (req, errorCode) => ({
  results: req.groupsNames.map((groupId) => ({ groupId, errorCode })),
});

export const consumerGroupHeartbeatError: ErrorResponse<typeof ApiKey.ConsumerGroupHeartbeat> = (_req, errorCode) => ({
  errorCode, errorMessage: null, memberId: null, memberEpoch: -1, heartbeatIntervalMs: 0, assignment: null,
});

export const consumerGroupDescribeError: ErrorResponse<typeof ApiKey.ConsumerGroupDescribe> = (req, errorCode) => ({
  groups: req.groupIds.map((groupId) => ({
    errorCode, errorMessage: null, groupId, groupState: '', groupEpoch: -1, assignmentEpoch: -1, assignorName: '', members: [], authorizedOperations: OPERATIONS_OMITTED,
  })),
});

export const offsetDeleteError: ErrorResponse<typeof ApiKey.OffsetDelete> = (_req, errorCode) => ({ errorCode, topics: [] });
