/**
 * The one registry of what this broker serves: API key -> supported version range and
 * handler. Both the ApiVersions answer and the dispatcher read it, so they cannot disagree.
 */
import type { RequestHeaderInfo } from '../shared/protocol/headers.js';
import { ApiKey } from '../shared/protocol/generated/api-keys.js';
import type { Connection } from './connection.js';
import type { BrokerContext } from './context.js';
import type { RequestTiming } from './request-metrics.js';
import { handleApiVersions } from './handlers/api-versions.js';
import { handleMetadata, handleDescribeCluster } from './handlers/metadata.js';
import { handleAlterConfigs, handleDescribeConfigs, handleIncrementalAlterConfigs } from './handlers/configs.js';
import { handleCreateTopics, handleDeleteTopics, handleCreatePartitions } from './handlers/admin.js';
import { handleProduce } from './handlers/produce.js';
import { handleFetch } from './handlers/fetch.js';
import { handleListOffsets } from './handlers/list-offsets.js';
import { handleDeleteRecords } from './handlers/delete-records.js';
import { handleDescribeLogDirs, handleElectLeaders } from './handlers/replicas.js';
import { handleAlterPartitionReassignments, handleListPartitionReassignments } from './handlers/reassignments.js';
import { groupApis } from './handlers/groups.js';
import { producerIdApis } from './handlers/producer-ids.js';
import { saslApis } from './handlers/sasl.js';
import { aclApis } from './handlers/acls.js';
import { clientQuotaApis } from './handlers/client-quotas.js';

/**
 * A handler answers with a response body, or null for no response (acks=0 produce). The
 * connection is there for the APIs that act on it (SASL) and for authorization; handlers that
 * send parts to the partition workers attribute the request's time with `timing`.
 */
export type Handler = (ctx: BrokerContext, req: any, h: RequestHeaderInfo, conn: Connection, timing: RequestTiming) => object | null | Promise<object | null>;

export interface SupportedApi {
  apiKey: number;
  minVersion: number;
  maxVersion: number;
  handler: Handler;
}

const core: SupportedApi[] = [
  { apiKey: ApiKey.Produce, minVersion: 3, maxVersion: 11, handler: handleProduce },
  { apiKey: ApiKey.Fetch, minVersion: 4, maxVersion: 15, handler: handleFetch },
  { apiKey: ApiKey.ListOffsets, minVersion: 1, maxVersion: 8, handler: handleListOffsets },
  { apiKey: ApiKey.DeleteRecords, minVersion: 0, maxVersion: 2, handler: handleDeleteRecords },
  { apiKey: ApiKey.Metadata, minVersion: 0, maxVersion: 12, handler: handleMetadata },
  { apiKey: ApiKey.ApiVersions, minVersion: 0, maxVersion: 3, handler: handleApiVersions },
  { apiKey: ApiKey.CreateTopics, minVersion: 2, maxVersion: 7, handler: handleCreateTopics },
  { apiKey: ApiKey.DeleteTopics, minVersion: 1, maxVersion: 6, handler: handleDeleteTopics },
  { apiKey: ApiKey.CreatePartitions, minVersion: 0, maxVersion: 3, handler: handleCreatePartitions },
  { apiKey: ApiKey.DescribeConfigs, minVersion: 0, maxVersion: 4, handler: handleDescribeConfigs },
  { apiKey: ApiKey.AlterConfigs, minVersion: 0, maxVersion: 2, handler: handleAlterConfigs },
  { apiKey: ApiKey.IncrementalAlterConfigs, minVersion: 0, maxVersion: 1, handler: handleIncrementalAlterConfigs },
  { apiKey: ApiKey.DescribeCluster, minVersion: 0, maxVersion: 1, handler: handleDescribeCluster },
  { apiKey: ApiKey.ElectLeaders, minVersion: 0, maxVersion: 2, handler: handleElectLeaders },
  { apiKey: ApiKey.DescribeLogDirs, minVersion: 0, maxVersion: 4, handler: handleDescribeLogDirs },
  { apiKey: ApiKey.AlterPartitionReassignments, minVersion: 0, maxVersion: 0, handler: handleAlterPartitionReassignments },
  { apiKey: ApiKey.ListPartitionReassignments, minVersion: 0, maxVersion: 0, handler: handleListPartitionReassignments },
];

export const SUPPORTED_APIS: ReadonlyMap<number, SupportedApi> = new Map(
  [...core, ...groupApis, ...producerIdApis, ...saslApis, ...aclApis, ...clientQuotaApis].map((a) => [a.apiKey, a]),
);

export function isSupported(apiKey: number, version: number): boolean {
  const a = SUPPORTED_APIS.get(apiKey);
  return a !== undefined && version >= a.minVersion && version <= a.maxVersion;
}
