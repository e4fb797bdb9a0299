/**
 * The answer each API gives when the whole request fails (unsupported version, internal
 * error): the error code on every item the request named, as Kafka's broker answers, so the
 * client sees the error where it looks for it.
 */
import { ApiKey } from '../shared/protocol/generated/api-keys.js';
import { groupErrorResponse } from './handlers/groups.js';

type Req = any;

export function errorResponse(apiKey: number, req: Req, errorCode: number): object {
  switch (apiKey) {
    case ApiKey.Produce:
      return {
        responses: req.topicData.map((t: Req) => ({
          name: t.name,
          partitionResponses: t.partitionData.map((p: Req) => ({ index: p.index, errorCode, baseOffset: -1, logAppendTimeMs: -1, logStartOffset: -1 })),
        })),
      };
    case ApiKey.Fetch:
      return {
        errorCode,
        responses: req.topics.map((t: Req) => ({
          topic: t.topic,
          topicId: t.topicId,
          partitions: t.partitions.map((p: Req) => ({ partitionIndex: p.partition, errorCode, highWatermark: -1, records: null })),
        })),
      };
    case ApiKey.ListOffsets:
      return {
        topics: req.topics.map((t: Req) => ({
          name: t.name,
          partitions: t.partitions.map((p: Req) => ({ partitionIndex: p.partitionIndex, errorCode, timestamp: -1, offset: -1 })),
        })),
      };
    case ApiKey.Metadata:
      return { topics: (req.topics ?? []).map((t: Req) => ({ errorCode, name: t.name, topicId: t.topicId })) };
    case ApiKey.CreateTopics:
      return { topics: req.topics.map((t: Req) => ({ name: t.name, errorCode })) };
    case ApiKey.DeleteTopics:
      return {
        responses: [
          ...(req.topicNames ?? []).map((name: string) => ({ name, errorCode })),
          ...(req.topics ?? []).map((t: Req) => ({ name: t.name, topicId: t.topicId, errorCode })),
        ],
      };
    case ApiKey.CreatePartitions:
      return { results: req.topics.map((t: Req) => ({ name: t.name, errorCode })) };
    case ApiKey.DescribeConfigs:
      return { results: req.resources.map((r: Req) => ({ errorCode, resourceType: r.resourceType, resourceName: r.resourceName, configs: [] })) };
    case ApiKey.DeleteRecords:
      return { topics: req.topics.map((t: Req) => ({ name: t.name, partitions: t.partitions.map((p: Req) => ({ partitionIndex: p.partitionIndex, lowWatermark: -1, errorCode })) })) };
    case ApiKey.ElectLeaders:
      return {
        errorCode,
        replicaElectionResults: (req.topicPartitions ?? []).map((t: Req) => ({
          topic: t.topic, partitionResult: t.partitions.map((p: number) => ({ partitionId: p, errorCode, errorMessage: null })),
        })),
      };
    case ApiKey.AlterPartitionReassignments:
      return {
        errorCode,
        responses: req.topics.map((t: Req) => ({ name: t.name, partitions: t.partitions.map((p: Req) => ({ partitionIndex: p.partitionIndex, errorCode, errorMessage: null })) })),
      };
    case ApiKey.ListPartitionReassignments:
      return { errorCode, topics: [] };
    case ApiKey.DescribeLogDirs:
      return { errorCode, results: [] };
    case ApiKey.AlterConfigs:
    case ApiKey.IncrementalAlterConfigs:
      return { responses: req.resources.map((r: Req) => ({ errorCode, errorMessage: null, resourceType: r.resourceType, resourceName: r.resourceName })) };
    default:
      return groupErrorResponse(apiKey, req, errorCode) ?? { errorCode };
  }
}
