/** Metadata and DescribeCluster: answered from the metadata cache. */
import { ErrorCode } from '../../shared/errors.js';
import type { RequestHeaderInfo } from '../../shared/protocol/headers.js';
import { ZERO_UUID } from '../../shared/protocol/codec.js';
import type { MetadataRequest } from '../../shared/protocol/generated/metadata-request.js';
import type { DescribeClusterRequest } from '../../shared/protocol/generated/describe-cluster-request.js';
import type { TopicMetadata } from '../../shared/metadata-types.js';
import { hexToWireUuid, wireUuidToHex } from '../../shared/topic-id.js';
import { ensureTopics } from '../auto-create.js';
import type { Connection } from '../connection.js';
import type { BrokerContext } from '../context.js';
import type { Encodable } from '../../shared/protocol/codec.js';
import type { DescribeClusterResponse } from '../../shared/protocol/generated/describe-cluster-response.js';
import type { MetadataResponse, MetadataResponseMetadataResponseTopic } from '../../shared/protocol/generated/metadata-response.js';

const INTERNAL_TOPICS = new Set(['__consumer_offsets']);
/** Kafka's "operations not requested" marker for authorized-operations fields. */
const OPS_NOT_REQUESTED = -2147483648;

export async function handleMetadata(ctx: BrokerContext, req: MetadataRequest, h: RequestHeaderInfo, conn: Connection): Promise<Encodable<MetadataResponse>> {
  const allTopics = req.topics === null || (h.apiVersion === 0 && req.topics.length === 0);
  const autoCreate = h.apiVersion < 4 || req.allowAutoTopicCreation;
  const errors = new Map<string, number>();
  const byIdMissing: string[] = [];
  let wanted: { name: string | null; topic: TopicMetadata | undefined; id: string }[] = [];
  if (!allTopics) {
    const names = req.topics!.filter((t) => t.name !== null).map((t) => t.name!);
    if (autoCreate) for (const [n, e] of await ensureTopics(ctx, names)) errors.set(n, e);
    for (const t of req.topics!) {
      if (t.name !== null) wanted.push({ name: t.name, topic: ctx.metadata.topic(t.name), id: t.topicId });
      else {
        const topic = ctx.metadata.topicById(wireUuidToHex(t.topicId));
        if (topic) wanted.push({ name: topic.name, topic, id: t.topicId });
        else byIdMissing.push(t.topicId);
      }
    }
  } else {
    wanted = ctx.metadata.topics().map((topic) => ({ name: topic.name, topic, id: hexToWireUuid(topic.id) }));
  }
  const live = new Set(ctx.metadata.liveBrokers().map((b) => b.id));
  const topics: Encodable<MetadataResponseMetadataResponseTopic>[] = wanted.map(({ name, topic }) => {
    if (!topic) {
      return { errorCode: errors.get(name!) ?? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, name, topicId: ZERO_UUID, partitions: [], topicAuthorizedOperations: OPS_NOT_REQUESTED };
    }
    return {
      errorCode: ErrorCode.NONE,
      name: topic.name,
      topicId: hexToWireUuid(topic.id),
      isInternal: INTERNAL_TOPICS.has(topic.name),
      topicAuthorizedOperations: OPS_NOT_REQUESTED,
      partitions: topic.partitions.map((p) => ({
        errorCode: p.leader < 0 ? ErrorCode.LEADER_NOT_AVAILABLE : ErrorCode.NONE,
        partitionIndex: p.partition,
        leaderId: p.leader,
        leaderEpoch: p.leaderEpoch,
        replicaNodes: p.replicas,
        isrNodes: p.isr,
        offlineReplicas: p.replicas.filter((r) => !live.has(r)),
      })),
    };
  });
  for (const id of byIdMissing) topics.push({ errorCode: ErrorCode.UNKNOWN_TOPIC_ID, name: null, topicId: id, partitions: [] });
  return {
    throttleTimeMs: 0,
    brokers: ctx.metadata.liveBrokers().map((b) => ({ nodeId: b.id, ...ctx.metadata.endpoint(b.id, conn.listener)! })),
    clusterId: ctx.metadata.clusterId || null,
    controllerId: ctx.metadata.controllerForClients(),
    topics,
    clusterAuthorizedOperations: OPS_NOT_REQUESTED,
  };
}

const ENDPOINT_BROKERS = 1;
const ENDPOINT_CONTROLLERS = 2;

/**
 * DescribeCluster. Brokers (endpoint type 1, the default): the live brokers, and a live one
 * as controller (see MetadataCache.controllerForClients). Controllers (type 2, KIP-919): every
 * node is a voter of the metadata quorum, so this listener answers for them too, naming the
 * quorum's voters at their controller listeners and the active controller as controller.
 */
export function handleDescribeCluster(ctx: BrokerContext, req: DescribeClusterRequest, _h: RequestHeaderInfo, conn: Connection): Encodable<DescribeClusterResponse> {
  const answer = (endpointType: number, controllerId: number, brokers: { brokerId: number; host: string; port: number; rack: string | null }[]) => ({
    throttleTimeMs: 0,
    errorCode: ErrorCode.NONE,
    errorMessage: null,
    endpointType,
    clusterId: ctx.metadata.clusterId,
    controllerId,
    brokers,
    clusterAuthorizedOperations: OPS_NOT_REQUESTED,
  });
  if (req.endpointType === ENDPOINT_CONTROLLERS) {
    return answer(ENDPOINT_CONTROLLERS, ctx.metadata.controllerId, ctx.config.voters.map((v) => ({ brokerId: v.id, host: v.host, port: v.port, rack: null })));
  }
  if (req.endpointType !== ENDPOINT_BROKERS) {
    return { ...answer(req.endpointType, -1, []), errorCode: ErrorCode.UNSUPPORTED_ENDPOINT_TYPE, errorMessage: `Endpoint type ${req.endpointType} is not supported.` };
  }
  return answer(ENDPOINT_BROKERS, ctx.metadata.controllerForClients(),
    ctx.metadata.liveBrokers().map((b) => ({ brokerId: b.id, ...ctx.metadata.endpoint(b.id, conn.listener)! })));
}
