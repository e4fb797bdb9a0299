/**
 * The answer each API gives when the whole request fails (unsupported version, internal
 * error, a refusal by the authorizer): the error code on every item the request named, as
 * Kafka's broker answers, so the client sees the error where it looks for it. APIs with one
 * error code for the whole request use `onlyErrorCode` (api.ts); the group APIs' answers are
 * with their handlers.
 */
import { ApiKey } from '../shared/protocol/generated/api-keys.js';
import type { ErrorResponse } from './api.js';

export const produceError: ErrorResponse<typeof ApiKey.Produce> = (req, errorCode) => ({
  responses: req.topicData.map((t) => ({
    name: t.name,
    partitionResponses: t.partitionData.map((p) => ({ index: p.index, errorCode, baseOffset: -1, logAppendTimeMs: -1, logStartOffset: -1 })),
  })),
});

export const fetchError: ErrorResponse<typeof ApiKey.Fetch> = (req, errorCode) => ({
  errorCode,
  responses: req.topics.map((t) => ({
    topic: t.topic,
    topicId: t.topicId,
    partitions: t.partitions.map((p) => ({ partitionIndex: p.partition, errorCode, highWatermark: -1, records: null })),
  })),
});

export const listOffsetsError: ErrorResponse<typeof ApiKey.ListOffsets> = (req, errorCode) => ({
  topics: req.topics.map((t) => ({
    name: t.name,
    partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode, timestamp: -1, offset: -1 })),
  })),
});

export const metadataError: ErrorResponse<typeof ApiKey.Metadata> = (req, errorCode) => ({
  topics: (req.topics ?? []).map((t) => ({ errorCode, name: t.name, topicId: t.topicId })),
});

export const createTopicsError: ErrorResponse<typeof ApiKey.CreateTopics> = (req, errorCode) => ({
  topics: req.topics.map((t) => ({ name: t.name, errorCode })),
});

export const deleteTopicsError: ErrorResponse<typeof ApiKey.DeleteTopics> = (req, errorCode) => ({
  responses: [
    ...(req.topicNames ?? []).map((name) => ({ name, errorCode })),
    ...(req.topics ?? []).map((t) => ({ name: t.name, topicId: t.topicId, errorCode })),
  ],
});

export const createPartitionsError: ErrorResponse<typeof ApiKey.CreatePartitions> = (req, errorCode) => ({
  results: req.topics.map((t) => ({ name: t.name, errorCode })),
});

export const describeConfigsError: ErrorResponse<typeof ApiKey.DescribeConfigs> = (req, errorCode) => ({
  results: req.resources.map((r) => ({ errorCode, resourceType: r.resourceType, resourceName: r.resourceName, configs: [] })),
});

export const deleteRecordsError: ErrorResponse<typeof ApiKey.DeleteRecords> = (req, errorCode) => ({
  topics: req.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, lowWatermark: -1, errorCode })) })),
});

export const describeProducersError: ErrorResponse<typeof ApiKey.DescribeProducers> = (req, errorCode) => ({
  topics: req.topics.map((t) => ({ name: t.name, partitions: t.partitionIndexes.map((partitionIndex) => ({ partitionIndex, errorCode, errorMessage: null, activeProducers: [] })) })),
});

export const electLeadersError: ErrorResponse<typeof ApiKey.ElectLeaders> = (req, errorCode) => ({
  errorCode,
  replicaElectionResults: (req.topicPartitions ?? []).map((t) => ({
    topic: t.topic, partitionResult: t.partitions.map((p) => ({ partitionId: p, errorCode, errorMessage: null })),
  })),
});

export const alterPartitionReassignmentsError: ErrorResponse<typeof ApiKey.AlterPartitionReassignments> = (req, errorCode) => ({
  errorCode,
  responses: req.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode, errorMessage: null })) })),
});

export const listPartitionReassignmentsError: ErrorResponse<typeof ApiKey.ListPartitionReassignments> = (_req, errorCode) => ({ errorCode, topics: [] });

export const describeLogDirsError: ErrorResponse<typeof ApiKey.DescribeLogDirs> = (_req, errorCode) => ({ errorCode, results: [] });

/** AlterConfigs and IncrementalAlterConfigs: their requests and answers name resources alike. */
export function alterConfigsError(req: { resources: readonly { resourceType: number; resourceName: string }[] }, errorCode: number) {
  return { responses: req.resources.map((r) => ({ errorCode, errorMessage: null, resourceType: r.resourceType, resourceName: r.resourceName })) };
}

export const createAclsError: ErrorResponse<typeof ApiKey.CreateAcls> = (req, errorCode) => ({
  results: req.creations.map(() => ({ errorCode, errorMessage: null })),
});

export const deleteAclsError: ErrorResponse<typeof ApiKey.DeleteAcls> = (req, errorCode) => ({
  filterResults: req.filters.map(() => ({ errorCode, errorMessage: null, matchingAcls: [] })),
});

export const alterUserScramCredentialsError: ErrorResponse<typeof ApiKey.AlterUserScramCredentials> = (req, errorCode) => ({
  results: [...new Set([...req.deletions, ...req.upsertions].map((c) => c.name))].map((user) => ({ user, errorCode, errorMessage: null })),
});

export const writeTxnMarkersError: ErrorResponse<typeof ApiKey.WriteTxnMarkers> = (req, errorCode) => ({
  markers: req.markers.map((m) => ({
    producerId: m.producerId,
    topics: m.topics.map((t) => ({ name: t.name, partitions: t.partitionIndexes.map((partitionIndex) => ({ partitionIndex, errorCode })) })),
  })),
});

export const txnOffsetCommitError: ErrorResponse<typeof ApiKey.TxnOffsetCommit> = (req, errorCode) => ({
  topics: req.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode })) })),
});

export const describeTransactionsError: ErrorResponse<typeof ApiKey.DescribeTransactions> = (req, errorCode) => ({
  transactionStates: req.transactionalIds.map((transactionalId) => ({
    errorCode, transactionalId, transactionState: '', transactionTimeoutMs: 0, transactionStartTimeMs: -1, producerId: -1, producerEpoch: -1, topics: [],
  })),
});
