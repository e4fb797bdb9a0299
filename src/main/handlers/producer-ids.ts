/**
 * Producer-id APIs: InitProducerId for idempotent producers, and the transaction APIs, which
 * this broker does not implement and answers with the errors that make clients stop at once.
 *
 * - InitProducerId without a transactional id: a fresh producer id (from the block the
 *   controller gave this broker) at epoch 0, whatever id and epoch the producer had, as Kafka
 *   does for non-transactional producers. When the controller cannot be reached in time:
 *   COORDINATOR_LOAD_IN_PROGRESS, which the Java client, librdkafka and kafkajs retry.
 * - InitProducerId with a transactional id, AddPartitionsToTxn, AddOffsetsToTxn, EndTxn and
 *   TxnOffsetCommit: TRANSACTIONAL_ID_AUTHORIZATION_FAILED. The Java client treats it as fatal
 *   (initTransactions() throws TransactionalIdAuthorizationException) instead of retrying
 *   until max.block.ms as it does for COORDINATOR_NOT_AVAILABLE; librdkafka fails fatally too.
 *   A Produce naming a transactional id gets the same answer (produce.ts).
 * - WriteTxnMarkers (sent by transaction coordinators to partition leaders, never by
 *   clients) and AddPartitionsToTxn v4+ (its broker-to-broker form): CLUSTER_AUTHORIZATION_FAILED.
 * - DescribeTransactions: TRANSACTIONAL_ID_NOT_FOUND for every id; ListTransactions: none.
 */
import { ErrorCode } from '../../shared/errors.js';
import type { AddOffsetsToTxnRequest } from '../../shared/protocol/generated/add-offsets-to-txn-request.js';
import type { AddPartitionsToTxnRequest, AddPartitionsToTxnRequestAddPartitionsToTxnTopic } from '../../shared/protocol/generated/add-partitions-to-txn-request.js';
import { ApiKey } from '../../shared/protocol/generated/api-keys.js';
import type { DescribeTransactionsRequest } from '../../shared/protocol/generated/describe-transactions-request.js';
import type { EndTxnRequest } from '../../shared/protocol/generated/end-txn-request.js';
import type { InitProducerIdRequest } from '../../shared/protocol/generated/init-producer-id-request.js';
import type { ListTransactionsRequest } from '../../shared/protocol/generated/list-transactions-request.js';
import type { TxnOffsetCommitRequest } from '../../shared/protocol/generated/txn-offset-commit-request.js';
import type { WriteTxnMarkersRequest } from '../../shared/protocol/generated/write-txn-markers-request.js';
import type { RequestHeaderInfo } from '../../shared/protocol/headers.js';
import type { SupportedApi } from '../api-versions.js';
import type { BrokerContext } from '../context.js';

const NO_TRANSACTIONS = ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
/** The transaction states ListTransactions may filter on (Kafka's TransactionState names). */
const TRANSACTION_STATES = new Set([
  'Empty', 'Ongoing', 'PrepareCommit', 'PrepareAbort', 'CompleteCommit', 'CompleteAbort', 'Dead', 'PrepareEpochFence',
]);

export async function handleInitProducerId(ctx: BrokerContext, req: InitProducerIdRequest): Promise<object> {
  const answer = (errorCode: number, producerId = -1, producerEpoch = -1): object => ({ throttleTimeMs: 0, errorCode, producerId, producerEpoch });
  if (req.transactionalId === '') return answer(ErrorCode.INVALID_REQUEST);
  if (req.transactionalId !== null) return answer(NO_TRANSACTIONS);
  const r = await ctx.raft.producerId();
  if (r.errorCode !== ErrorCode.NONE) return answer(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
  return answer(ErrorCode.NONE, r.producerId, 0);
}

function partitionErrors(topics: AddPartitionsToTxnRequestAddPartitionsToTxnTopic[], errorCode: number): object[] {
  return topics.map((t) => ({
    name: t.name,
    resultsByPartition: t.partitions.map((partitionIndex) => ({ partitionIndex, partitionErrorCode: errorCode })),
  }));
}

function handleAddPartitionsToTxn(_ctx: BrokerContext, req: AddPartitionsToTxnRequest, h: RequestHeaderInfo): object {
  if (h.apiVersion <= 3) return { throttleTimeMs: 0, resultsByTopicV3AndBelow: partitionErrors(req.v3AndBelowTopics, NO_TRANSACTIONS) };
  const errorCode = ErrorCode.CLUSTER_AUTHORIZATION_FAILED;
  return {
    throttleTimeMs: 0,
    errorCode,
    resultsByTransaction: req.transactions.map((t) => ({ transactionalId: t.transactionalId, topicResults: partitionErrors(t.topics, errorCode) })),
  };
}

function handleAddOffsetsToTxn(_ctx: BrokerContext, _req: AddOffsetsToTxnRequest): object {
  return { throttleTimeMs: 0, errorCode: NO_TRANSACTIONS };
}

function handleEndTxn(_ctx: BrokerContext, _req: EndTxnRequest): object {
  return { throttleTimeMs: 0, errorCode: NO_TRANSACTIONS, producerId: -1, producerEpoch: -1 };
}

function handleTxnOffsetCommit(_ctx: BrokerContext, req: TxnOffsetCommitRequest): object {
  return {
    throttleTimeMs: 0,
    topics: req.topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: NO_TRANSACTIONS })),
    })),
  };
}

function handleWriteTxnMarkers(_ctx: BrokerContext, req: WriteTxnMarkersRequest): object {
  return {
    markers: req.markers.map((m) => ({
      producerId: m.producerId,
      topics: m.topics.map((t) => ({
        name: t.name,
        partitions: t.partitionIndexes.map((partitionIndex) => ({ partitionIndex, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED })),
      })),
    })),
  };
}

function handleDescribeTransactions(_ctx: BrokerContext, req: DescribeTransactionsRequest): object {
  return {
    throttleTimeMs: 0,
    transactionStates: req.transactionalIds.map((transactionalId) => ({
      errorCode: ErrorCode.TRANSACTIONAL_ID_NOT_FOUND,
      transactionalId,
      transactionState: '',
      transactionTimeoutMs: 0,
      transactionStartTimeMs: -1,
      producerId: -1,
      producerEpoch: -1,
      topics: [],
    })),
  };
}

function handleListTransactions(_ctx: BrokerContext, req: ListTransactionsRequest): object {
  return {
    throttleTimeMs: 0,
    errorCode: ErrorCode.NONE,
    unknownStateFilters: req.stateFilters.filter((s) => !TRANSACTION_STATES.has(s)),
    transactionStates: [],
  };
}

export const producerIdApis: SupportedApi[] = [
  { apiKey: ApiKey.InitProducerId, minVersion: 0, maxVersion: 5, handler: handleInitProducerId },
  { apiKey: ApiKey.AddPartitionsToTxn, minVersion: 0, maxVersion: 5, handler: handleAddPartitionsToTxn },
  { apiKey: ApiKey.AddOffsetsToTxn, minVersion: 0, maxVersion: 4, handler: handleAddOffsetsToTxn },
  { apiKey: ApiKey.EndTxn, minVersion: 0, maxVersion: 5, handler: handleEndTxn },
  { apiKey: ApiKey.WriteTxnMarkers, minVersion: 0, maxVersion: 1, handler: handleWriteTxnMarkers },
  { apiKey: ApiKey.TxnOffsetCommit, minVersion: 0, maxVersion: 4, handler: handleTxnOffsetCommit },
  { apiKey: ApiKey.DescribeTransactions, minVersion: 0, maxVersion: 0, handler: handleDescribeTransactions },
  { apiKey: ApiKey.ListTransactions, minVersion: 0, maxVersion: 1, handler: handleListTransactions },
];
