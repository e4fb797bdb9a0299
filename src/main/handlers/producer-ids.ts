/**
 * Producer-id and transaction APIs.
 *
 * - InitProducerId without a transactional id: a fresh producer id (from the block the
 *   controller gave this broker) at epoch 0, whatever id and epoch the producer had, as Kafka
 *   does for non-transactional producers. When the controller cannot be reached in time:
 *   COORDINATOR_LOAD_IN_PROGRESS, which the Java client, librdkafka and kafkajs retry.
 * - InitProducerId with a transactional id, AddPartitionsToTxn, AddOffsetsToTxn, EndTxn,
 *   DescribeTransactions and ListTransactions: the transaction coordinator
 *   (transactions/coordinator.ts) of the `__transaction_state` partitions this broker leads.
 *   AddPartitionsToTxn v4+ is the broker-to-broker form: batched, verify-only checks of v1
 *   transactions and the implicit adds of v2 ones. EndTxn v5 ends a v2 transaction.
 * - WriteTxnMarkers (from a transaction coordinator to a partition leader): the markers are
 *   appended to the partitions this broker leads (transactions/markers.ts).
 * - TxnOffsetCommit: once the group's offsets partition is verified to be in the producer's
 *   transaction (added to it, from v5), the group coordinator writes the offsets inside it;
 *   the group sees them once the transaction commits.
 */
import { ErrorCode } from '../../shared/errors.js';
import type { AddOffsetsToTxnRequest } from '../../shared/protocol/generated/add-offsets-to-txn-request.js';
import type { AddPartitionsToTxnRequest, AddPartitionsToTxnRequestAddPartitionsToTxnTopic } from '../../shared/protocol/generated/add-partitions-to-txn-request.js';
import type { DescribeTransactionsRequest } from '../../shared/protocol/generated/describe-transactions-request.js';
import type { EndTxnRequest } from '../../shared/protocol/generated/end-txn-request.js';
import type { InitProducerIdRequest } from '../../shared/protocol/generated/init-producer-id-request.js';
import type { ListTransactionsRequest } from '../../shared/protocol/generated/list-transactions-request.js';
import type { TxnOffsetCommitRequest } from '../../shared/protocol/generated/txn-offset-commit-request.js';
import type { WriteTxnMarkersRequest } from '../../shared/protocol/generated/write-txn-markers-request.js';
import type { RequestHeaderInfo } from '../../shared/protocol/headers.js';
import { OFFSETS_TOPIC, partitionForGroup } from '../../shared/groups/coordinator-partition.js';
import { TXN_STATE_NAMES } from '../../shared/transactions/records.js';
import { EPOCH_BUMP_VERSION } from '../../shared/transactions/txn-metadata.js';
import type { BrokerContext } from '../context.js';
import { appendLocalMarkers } from '../transactions/markers.js';
import type { Encodable } from '../../shared/protocol/codec.js';
import type { AddOffsetsToTxnResponse } from '../../shared/protocol/generated/add-offsets-to-txn-response.js';
import type { AddPartitionsToTxnResponse, AddPartitionsToTxnResponseAddPartitionsToTxnTopicResult } from '../../shared/protocol/generated/add-partitions-to-txn-response.js';
import type { DescribeTransactionsResponse } from '../../shared/protocol/generated/describe-transactions-response.js';
import type { EndTxnResponse } from '../../shared/protocol/generated/end-txn-response.js';
import type { InitProducerIdResponse } from '../../shared/protocol/generated/init-producer-id-response.js';
import type { ListTransactionsResponse } from '../../shared/protocol/generated/list-transactions-response.js';
import type { TxnOffsetCommitResponse } from '../../shared/protocol/generated/txn-offset-commit-response.js';
import type { WriteTxnMarkersResponse } from '../../shared/protocol/generated/write-txn-markers-response.js';

const TRANSACTION_STATES = new Set(Object.values(TXN_STATE_NAMES));

export async function handleInitProducerId(ctx: BrokerContext, req: InitProducerIdRequest, h: RequestHeaderInfo): Promise<Encodable<InitProducerIdResponse>> {
  const answer = (errorCode: number, producerId = -1, producerEpoch = -1): Encodable<InitProducerIdResponse> => ({ throttleTimeMs: 0, errorCode, producerId, producerEpoch });
  if (req.transactionalId === '') return answer(ErrorCode.INVALID_REQUEST);
  if (req.transactionalId !== null) {
    const known = h.apiVersion >= 3 ? [req.producerId, req.producerEpoch] : [-1, -1];
    const r = await ctx.txns.initProducerId(req.transactionalId, req.transactionTimeoutMs, known[0]!, known[1]!);
    // Clients before InitProducerId v4 know INVALID_PRODUCER_EPOCH, not PRODUCER_FENCED.
    const errorCode = r.errorCode === ErrorCode.PRODUCER_FENCED && h.apiVersion < 4 ? ErrorCode.INVALID_PRODUCER_EPOCH : r.errorCode;
    return answer(errorCode, r.producerId, r.producerEpoch);
  }
  const r = await ctx.raft.producerId();
  if (r.errorCode !== ErrorCode.NONE) return answer(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
  return answer(ErrorCode.NONE, r.producerId, 0);
}

/** Clients of the older versions of an API know INVALID_PRODUCER_EPOCH where newer ones get PRODUCER_FENCED. */
function fenced(errorCode: number, knowsFenced: boolean): number {
  return errorCode === ErrorCode.PRODUCER_FENCED && !knowsFenced ? ErrorCode.INVALID_PRODUCER_EPOCH : errorCode;
}

function partitionResults(topics: AddPartitionsToTxnRequestAddPartitionsToTxnTopic[], errorCode: number): Encodable<AddPartitionsToTxnResponseAddPartitionsToTxnTopicResult>[] {
  return topics.map((t) => ({
    name: t.name,
    resultsByPartition: t.partitions.map((partitionIndex) => ({ partitionIndex, partitionErrorCode: errorCode })),
  }));
}

/** UNKNOWN_TOPIC_OR_PARTITION for partitions that do not exist; null when all do. */
function unknownPartitions(ctx: BrokerContext, topics: AddPartitionsToTxnRequestAddPartitionsToTxnTopic[]): Encodable<AddPartitionsToTxnResponseAddPartitionsToTxnTopicResult>[] | null {
  const missing = topics.some((t) => t.partitions.some((p) => !ctx.metadata.partition(t.name, p)));
  if (!missing) return null;
  return topics.map((t) => ({
    name: t.name,
    resultsByPartition: t.partitions.map((partitionIndex) => ({
      partitionIndex,
      partitionErrorCode: ctx.metadata.partition(t.name, partitionIndex) ? ErrorCode.OPERATION_NOT_ATTEMPTED : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    })),
  }));
}

async function addForTransaction(ctx: BrokerContext, transactionalId: string, producerId: number, producerEpoch: number, topics: AddPartitionsToTxnRequestAddPartitionsToTxnTopic[], verifyOnly: boolean, knowsFenced: boolean, clientVersion: number): Promise<Encodable<AddPartitionsToTxnResponseAddPartitionsToTxnTopicResult>[]> {
  const unknown = unknownPartitions(ctx, topics);
  if (unknown) return unknown;
  const i = { transactionalId, producerId, producerEpoch };
  const partitions = topics.map((t) => ({ topic: t.name, partitions: t.partitions }));
  const errorCode = verifyOnly ? ctx.txns.verify(i, partitions) : await ctx.txns.addPartitions(i, partitions, clientVersion);
  return partitionResults(topics, fenced(errorCode, knowsFenced));
}

export async function handleAddPartitionsToTxn(ctx: BrokerContext, req: AddPartitionsToTxnRequest, h: RequestHeaderInfo): Promise<Encodable<AddPartitionsToTxnResponse>> {
  if (h.apiVersion <= 3) {
    const results = await addForTransaction(ctx, req.v3AndBelowTransactionalId, req.v3AndBelowProducerId, req.v3AndBelowProducerEpoch, req.v3AndBelowTopics, false, h.apiVersion >= 2, 0);
    return { throttleTimeMs: 0, resultsByTopicV3AndBelow: results };
  }
  const resultsByTransaction = await Promise.all(req.transactions.map(async (t) => ({
    transactionalId: t.transactionalId,
    // From a partition leader: an add (not verify-only) is the implicit add of a v2 transaction.
    topicResults: await addForTransaction(ctx, t.transactionalId, t.producerId, t.producerEpoch, t.topics, t.verifyOnly, true, EPOCH_BUMP_VERSION),
  })));
  return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, resultsByTransaction };
}

export async function handleAddOffsetsToTxn(ctx: BrokerContext, req: AddOffsetsToTxnRequest, h: RequestHeaderInfo): Promise<Encodable<AddOffsetsToTxnResponse>> {
  const errorCode = await ctx.txns.addOffsets({ transactionalId: req.transactionalId, producerId: req.producerId, producerEpoch: req.producerEpoch }, req.groupId);
  return { throttleTimeMs: 0, errorCode: fenced(errorCode, h.apiVersion >= 2) };
}

/** EndTxn v5 is a v2 client's: its end bumps the epoch, and the answer names the producer id and epoch to go on with. */
export async function handleEndTxn(ctx: BrokerContext, req: EndTxnRequest, h: RequestHeaderInfo): Promise<Encodable<EndTxnResponse>> {
  const clientVersion = h.apiVersion >= 5 ? EPOCH_BUMP_VERSION : 0;
  const r = await ctx.txns.endTxn({ transactionalId: req.transactionalId, producerId: req.producerId, producerEpoch: req.producerEpoch }, req.committed, clientVersion);
  return { throttleTimeMs: 0, errorCode: fenced(r.errorCode, h.apiVersion >= 2), producerId: r.producerId ?? -1, producerEpoch: r.producerEpoch ?? -1 };
}

/**
 * The group's offsets partition must be in the producer's ongoing transaction (AddOffsetsToTxn),
 * checked with the transaction's coordinator as transactional produce is: a late commit would
 * otherwise stage offsets that no marker ever settles. From v5 (a v2 client, which sends no
 * AddOffsetsToTxn) the coordinator adds it instead. Null when it is in; else one error per offset.
 */
async function verifyOffsetsPartition(ctx: BrokerContext, req: TxnOffsetCommitRequest, add: boolean): Promise<number[] | null> {
  const offsetsTopic = ctx.metadata.topic(OFFSETS_TOPIC);
  if (!offsetsTopic || offsetsTopic.partitions.length === 0) return null;
  const partition = partitionForGroup(req.groupId, offsetsTopic.partitions.length);
  const leaderEpoch = offsetsTopic.partitions[partition]!.leaderEpoch;
  const [code] = await ctx.txnVerifier.verify(req.transactionalId, req.producerId, req.producerEpoch, [{ topic: OFFSETS_TOPIC, partition, leaderEpoch }], add);
  if (code === ErrorCode.NONE) return null;
  const errorCode = code === ErrorCode.INVALID_PRODUCER_EPOCH ? ErrorCode.PRODUCER_FENCED : code === ErrorCode.NOT_ENOUGH_REPLICAS ? ErrorCode.COORDINATOR_LOAD_IN_PROGRESS : code;
  return req.topics.flatMap((t) => t.partitions.map(() => errorCode));
}

export async function handleTxnOffsetCommit(ctx: BrokerContext, req: TxnOffsetCommitRequest, h: RequestHeaderInfo): Promise<Encodable<TxnOffsetCommitResponse>> {
  const offsets = req.topics.flatMap((t) => t.partitions.map((p) => ({
    topic: t.name,
    partition: p.partitionIndex,
    offset: p.committedOffset,
    leaderEpoch: h.apiVersion >= 2 ? p.committedLeaderEpoch : -1,
    metadata: p.committedMetadata,
  })));
  const codes = await verifyOffsetsPartition(ctx, req, h.apiVersion >= 5) ?? await ctx.groups.commitTxnOffsets(req.groupId, req.producerId, req.producerEpoch, offsets);
  let i = 0;
  return {
    throttleTimeMs: 0,
    topics: req.topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: fenced(codes[i++]!, h.apiVersion >= 3) })),
    })),
  };
}

export async function handleWriteTxnMarkers(ctx: BrokerContext, req: WriteTxnMarkersRequest): Promise<Encodable<WriteTxnMarkersResponse>> {
  const deps = { nodeId: ctx.config.nodeId, metadata: ctx.metadata, workers: ctx.workers, onMarker: ctx.onMarker };
  return {
    markers: await Promise.all(req.markers.map(async (m) => ({
      producerId: m.producerId,
      topics: await Promise.all(m.topics.map(async (t) => {
        const spec = { producerId: m.producerId, producerEpoch: m.producerEpoch, commit: m.transactionResult, coordinatorEpoch: m.coordinatorEpoch };
        const codes = await appendLocalMarkers(deps, spec, t.name, t.partitionIndexes);
        return { name: t.name, partitions: t.partitionIndexes.map((partitionIndex, i) => ({ partitionIndex, errorCode: codes[i]! })) };
      })),
    }))),
  };
}

export function handleDescribeTransactions(ctx: BrokerContext, req: DescribeTransactionsRequest): Encodable<DescribeTransactionsResponse> {
  return {
    throttleTimeMs: 0,
    transactionStates: req.transactionalIds.map((transactionalId) => {
      const { errorCode, txn } = ctx.txns.describe(transactionalId);
      return {
        errorCode,
        transactionalId,
        transactionState: txn?.state ?? '',
        transactionTimeoutMs: txn?.timeoutMs ?? 0,
        transactionStartTimeMs: txn?.startMs ?? -1,
        producerId: txn?.producerId ?? -1,
        producerEpoch: txn?.producerEpoch ?? -1,
        topics: txn?.partitions.map((p) => ({ topic: p.topic, partitions: p.partitions })) ?? [],
      };
    }),
  };
}

export function handleListTransactions(ctx: BrokerContext, req: ListTransactionsRequest, h: RequestHeaderInfo): Encodable<ListTransactionsResponse> {
  const { errorCode, txns } = ctx.txns.list();
  const states = new Set(req.stateFilters);
  const producers = new Set(req.producerIdFilters);
  const now = Date.now();
  const minDuration = h.apiVersion >= 1 ? req.durationFilter : -1;
  return {
    throttleTimeMs: 0,
    errorCode,
    unknownStateFilters: req.stateFilters.filter((s) => !TRANSACTION_STATES.has(s)),
    transactionStates: txns
      .filter((t) => (states.size === 0 || states.has(t.state)) && (producers.size === 0 || producers.has(t.producerId)))
      .filter((t) => minDuration < 0 || (t.startMs >= 0 && now - t.startMs >= minDuration))
      .map((t) => ({ transactionalId: t.transactionalId, producerId: t.producerId, transactionState: t.state })),
  };
}
