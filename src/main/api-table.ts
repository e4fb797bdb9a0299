/**
 * The one table of what this broker serves: per API key, the versions served, the handler and
 * the error answer, each typed by that key's generated request and response messages. The
 * ApiVersions answer, the dispatcher and the authorizer's refusals all read it, so they cannot
 * disagree.
 */
import { ApiKey } from '../shared/protocol/generated/api-keys.js';
import { api, onlyErrorCode, type ServedApi } from './api.js';
import {
  alterConfigsError, alterPartitionReassignmentsError, alterUserScramCredentialsError, createAclsError, createPartitionsError,
  createTopicsError, deleteAclsError, deleteRecordsError, deleteTopicsError, describeConfigsError, describeLogDirsError, describeProducersError,
  describeTransactionsError, electLeadersError, fetchError, listOffsetsError, listPartitionReassignmentsError, metadataError,
  produceError, txnOffsetCommitError, writeTxnMarkersError,
} from './error-responses.js';
import { handleCreateAcls, handleDeleteAcls, handleDescribeAcls } from './handlers/acls.js';
import { handleCreatePartitions, handleCreateTopics, handleDeleteTopics } from './handlers/admin.js';
import { apiVersionsResponse, type ApiVersionRange } from './handlers/api-versions.js';
import { handleDescribeClientQuotas } from './handlers/client-quotas.js';
import { handleAlterConfigs, handleDescribeConfigs, handleIncrementalAlterConfigs } from './handlers/configs.js';
import { handleDeleteRecords } from './handlers/delete-records.js';
import { handleDescribeProducers } from './handlers/describe-producers.js';
import { handleFetch } from './handlers/fetch.js';
import {
  consumerGroupDescribeError, consumerGroupHeartbeatError, deleteGroupsError, describeGroupsError, findCoordinatorError,
  handleConsumerGroupDescribe, handleConsumerGroupHeartbeat, handleDeleteGroups, handleDescribeGroups, handleFindCoordinator,
  handleHeartbeat, handleJoinGroup, handleLeaveGroup, handleListGroups, handleOffsetCommit, handleOffsetDelete, handleOffsetFetch,
  handleSyncGroup, leaveGroupError, offsetCommitError, offsetDeleteError, offsetFetchError,
} from './handlers/groups.js';
import { handleListOffsets } from './handlers/list-offsets.js';
import { handleDescribeCluster, handleMetadata } from './handlers/metadata.js';
import { handleProduce } from './handlers/produce.js';
import {
  handleAddOffsetsToTxn, handleAddPartitionsToTxn, handleDescribeTransactions, handleEndTxn, handleInitProducerId,
  handleListTransactions, handleTxnOffsetCommit, handleWriteTxnMarkers,
} from './handlers/producer-ids.js';
import { handleAlterPartitionReassignments, handleListPartitionReassignments } from './handlers/reassignments.js';
import { handleDescribeLogDirs, handleElectLeaders } from './handlers/replicas.js';
import { handleAlterUserScramCredentials, handleDescribeUserScramCredentials, handleSaslAuthenticate, handleSaslHandshake } from './handlers/sasl.js';

const table: ServedApi[] = [
  api({ apiKey: ApiKey.Produce, minVersion: 3, maxVersion: 12, handler: handleProduce, errorResponse: produceError }),
  api({ apiKey: ApiKey.Fetch, minVersion: 4, maxVersion: 15, handler: handleFetch, errorResponse: fetchError }),
  api({ apiKey: ApiKey.ListOffsets, minVersion: 1, maxVersion: 8, handler: handleListOffsets, errorResponse: listOffsetsError }),
  api({ apiKey: ApiKey.DeleteRecords, minVersion: 0, maxVersion: 2, handler: handleDeleteRecords, errorResponse: deleteRecordsError }),
  api({ apiKey: ApiKey.Metadata, minVersion: 0, maxVersion: 12, handler: handleMetadata, errorResponse: metadataError }),
  api({ apiKey: ApiKey.ApiVersions, minVersion: 0, maxVersion: 3, handler: () => apiVersionsResponse(VERSION_RANGES), errorResponse: onlyErrorCode }),
  api({ apiKey: ApiKey.CreateTopics, minVersion: 2, maxVersion: 7, handler: handleCreateTopics, errorResponse: createTopicsError }),
  api({ apiKey: ApiKey.DeleteTopics, minVersion: 1, maxVersion: 6, handler: handleDeleteTopics, errorResponse: deleteTopicsError }),
  api({ apiKey: ApiKey.CreatePartitions, minVersion: 0, maxVersion: 3, handler: handleCreatePartitions, errorResponse: createPartitionsError }),
  api({ apiKey: ApiKey.DescribeConfigs, minVersion: 0, maxVersion: 4, handler: handleDescribeConfigs, errorResponse: describeConfigsError }),
  api({ apiKey: ApiKey.AlterConfigs, minVersion: 0, maxVersion: 2, handler: handleAlterConfigs, errorResponse: alterConfigsError }),
  api({ apiKey: ApiKey.IncrementalAlterConfigs, minVersion: 0, maxVersion: 1, handler: handleIncrementalAlterConfigs, errorResponse: alterConfigsError }),
  api({ apiKey: ApiKey.DescribeCluster, minVersion: 0, maxVersion: 1, handler: handleDescribeCluster, errorResponse: onlyErrorCode }),
  api({ apiKey: ApiKey.ElectLeaders, minVersion: 0, maxVersion: 2, handler: handleElectLeaders, errorResponse: electLeadersError }),
  api({ apiKey: ApiKey.DescribeLogDirs, minVersion: 0, maxVersion: 4, handler: handleDescribeLogDirs, errorResponse: describeLogDirsError }),
  api({ apiKey: ApiKey.AlterPartitionReassignments, minVersion: 0, maxVersion: 0, handler: handleAlterPartitionReassignments, errorResponse: alterPartitionReassignmentsError }),
  api({ apiKey: ApiKey.ListPartitionReassignments, minVersion: 0, maxVersion: 0, handler: handleListPartitionReassignments, errorResponse: listPartitionReassignmentsError }),

  api({ apiKey: ApiKey.FindCoordinator, minVersion: 0, maxVersion: 4, handler: handleFindCoordinator, errorResponse: findCoordinatorError }),
  api({ apiKey: ApiKey.JoinGroup, minVersion: 0, maxVersion: 9, handler: handleJoinGroup, errorResponse: onlyErrorCode }),
  api({ apiKey: ApiKey.SyncGroup, minVersion: 0, maxVersion: 5, handler: handleSyncGroup, errorResponse: onlyErrorCode }),
  api({ apiKey: ApiKey.Heartbeat, minVersion: 0, maxVersion: 4, handler: handleHeartbeat, errorResponse: onlyErrorCode }),
  api({ apiKey: ApiKey.LeaveGroup, minVersion: 0, maxVersion: 5, handler: handleLeaveGroup, errorResponse: leaveGroupError }),
  api({ apiKey: ApiKey.OffsetCommit, minVersion: 0, maxVersion: 9, handler: handleOffsetCommit, errorResponse: offsetCommitError }),
  api({ apiKey: ApiKey.OffsetFetch, minVersion: 0, maxVersion: 9, handler: handleOffsetFetch, errorResponse: offsetFetchError }),
  api({ apiKey: ApiKey.ListGroups, minVersion: 0, maxVersion: 5, handler: handleListGroups, errorResponse: onlyErrorCode }),
  api({ apiKey: ApiKey.OffsetDelete, minVersion: 0, maxVersion: 0, handler: handleOffsetDelete, errorResponse: offsetDeleteError }),
  api({ apiKey: ApiKey.ConsumerGroupHeartbeat, minVersion: 0, maxVersion: 1, handler: handleConsumerGroupHeartbeat, errorResponse: consumerGroupHeartbeatError }),
  api({ apiKey: ApiKey.ConsumerGroupDescribe, minVersion: 0, maxVersion: 0, handler: handleConsumerGroupDescribe, errorResponse: consumerGroupDescribeError }),
  api({ apiKey: ApiKey.DescribeGroups, minVersion: 0, maxVersion: 5, handler: handleDescribeGroups, errorResponse: describeGroupsError }),
  api({ apiKey: ApiKey.DeleteGroups, minVersion: 0, maxVersion: 2, handler: handleDeleteGroups, errorResponse: deleteGroupsError }),

  api({ apiKey: ApiKey.InitProducerId, minVersion: 0, maxVersion: 5, handler: handleInitProducerId, errorResponse: onlyErrorCode }),
  api({ apiKey: ApiKey.AddPartitionsToTxn, minVersion: 0, maxVersion: 5, handler: handleAddPartitionsToTxn, errorResponse: onlyErrorCode }),
  api({ apiKey: ApiKey.AddOffsetsToTxn, minVersion: 0, maxVersion: 4, handler: handleAddOffsetsToTxn, errorResponse: onlyErrorCode }),
  api({ apiKey: ApiKey.EndTxn, minVersion: 0, maxVersion: 5, handler: handleEndTxn, errorResponse: onlyErrorCode }),
  api({ apiKey: ApiKey.WriteTxnMarkers, minVersion: 0, maxVersion: 1, handler: handleWriteTxnMarkers, errorResponse: writeTxnMarkersError }),
  api({ apiKey: ApiKey.TxnOffsetCommit, minVersion: 0, maxVersion: 5, handler: handleTxnOffsetCommit, errorResponse: txnOffsetCommitError }),
  api({ apiKey: ApiKey.DescribeTransactions, minVersion: 0, maxVersion: 0, handler: handleDescribeTransactions, errorResponse: describeTransactionsError }),
  api({ apiKey: ApiKey.DescribeProducers, minVersion: 0, maxVersion: 0, handler: handleDescribeProducers, errorResponse: describeProducersError }),
  api({ apiKey: ApiKey.ListTransactions, minVersion: 0, maxVersion: 1, handler: handleListTransactions, errorResponse: onlyErrorCode }),

  api({ apiKey: ApiKey.SaslHandshake, minVersion: 0, maxVersion: 1, handler: handleSaslHandshake, errorResponse: onlyErrorCode }),
  api({ apiKey: ApiKey.SaslAuthenticate, minVersion: 0, maxVersion: 2, handler: handleSaslAuthenticate, errorResponse: onlyErrorCode }),
  api({ apiKey: ApiKey.DescribeUserScramCredentials, minVersion: 0, maxVersion: 0, handler: handleDescribeUserScramCredentials, errorResponse: onlyErrorCode }),
  api({ apiKey: ApiKey.AlterUserScramCredentials, minVersion: 0, maxVersion: 0, handler: handleAlterUserScramCredentials, errorResponse: alterUserScramCredentialsError }),

  api({ apiKey: ApiKey.CreateAcls, minVersion: 0, maxVersion: 3, handler: handleCreateAcls, errorResponse: createAclsError }),
  api({ apiKey: ApiKey.DescribeAcls, minVersion: 0, maxVersion: 3, handler: handleDescribeAcls, errorResponse: onlyErrorCode }),
  api({ apiKey: ApiKey.DeleteAcls, minVersion: 0, maxVersion: 3, handler: handleDeleteAcls, errorResponse: deleteAclsError }),

  api({ apiKey: ApiKey.DescribeClientQuotas, minVersion: 0, maxVersion: 1, handler: handleDescribeClientQuotas, errorResponse: onlyErrorCode }),
];

export const SUPPORTED_APIS: ReadonlyMap<number, ServedApi> = new Map(table.map((a) => [a.apiKey, a]));

/** What the ApiVersions answer lists, in the table's order. */
export const VERSION_RANGES: readonly ApiVersionRange[] = table.map((a) => ({ apiKey: a.apiKey, minVersion: a.minVersion, maxVersion: a.maxVersion }));

export function isSupported(apiKey: number, version: number): boolean {
  const a = SUPPORTED_APIS.get(apiKey);
  return a !== undefined && version >= a.minVersion && version <= a.maxVersion;
}
