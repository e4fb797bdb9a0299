/**
 * What the transaction coordinator knows of one transactional id, and the rules that compute
 * its next state from it: which EndTxn may go on, and what ending and completing a transaction
 * make of the producer id and epoch. Pure values in, values out; the state machine
 * (txn-state-machine.ts) sequences the writes.
 *
 * Transactions v1 keep the producer's epoch across its transactions: only InitProducerId and a
 * coordinator's fence bump it. Transactions v2 (KIP-890: EndTxn v5, with partitions added
 * implicitly by Produce v12 and TxnOffsetCommit v5) bump it at every end: the markers carry
 * the new epoch, so a late write of the ended transaction is fenced at the partitions, and
 * the EndTxn answer hands the client its epoch for the next transaction. When the epochs run
 * out, the end hands out a fresh producer id at epoch 0 instead. The version that counts for
 * a retry is the transaction's (the client's last request), as on a Kafka broker.
 */
import { ErrorCode } from '../errors.js';
import { TxnState, type TopicPartitions, type TxnLogValue } from './records.js';

/** Epochs are int16; the last one is kept back so a fence can still bump once (Kafka's rule). */
export const MAX_PRODUCER_EPOCH = 32_766;

/** The client's transaction version from which every end bumps the epoch. */
export const EPOCH_BUMP_VERSION = 2;

export interface TxnMetadata {
  transactionalId: string;
  producerId: number;
  producerEpoch: number;
  /** The epoch before the last bump: a producer retrying its InitProducerId still has it. */
  lastProducerEpoch: number;
  /** The producer id before the last fresh one an end handed out. */
  previousProducerId: number;
  /** The fresh producer id the transaction being ended hands out, or -1. */
  nextProducerId: number;
  /** The transaction version of the client's last request that changed the transaction. */
  clientVersion: number;
  timeoutMs: number;
  state: TxnState;
  /** topic → partitions in the transaction. */
  partitions: Map<string, Set<number>>;
  startMs: number;
  lastUpdateMs: number;
  /** A transition is being written. */
  pending: boolean;
}

export interface TxnInput {
  transactionalId: string;
  producerId: number;
  producerEpoch: number;
}

export function listPartitions(m: Map<string, Set<number>>): TopicPartitions[] {
  return [...m].map(([topic, ps]) => ({ topic, partitions: [...ps].sort((a, b) => a - b) }));
}

export function copyTxn(t: TxnMetadata): TxnMetadata {
  return { ...t, partitions: new Map([...t.partitions].map(([k, v]) => [k, new Set(v)])) };
}

export function toLogValue(t: TxnMetadata): TxnLogValue {
  return {
    producerId: t.producerId,
    producerEpoch: t.producerEpoch,
    timeoutMs: t.timeoutMs,
    state: t.state,
    partitions: listPartitions(t.partitions),
    lastUpdateMs: t.lastUpdateMs,
    startMs: t.startMs,
    previousProducerId: t.previousProducerId,
    nextProducerId: t.nextProducerId,
    clientVersion: t.clientVersion,
  };
}

/** The metadata a record read back from the log gives, after `prev` (the id's metadata before it). */
export function fromLogValue(transactionalId: string, v: TxnLogValue, prev: TxnMetadata | undefined): TxnMetadata {
  const bumped = prev !== undefined && prev.producerId === v.producerId && prev.producerEpoch !== v.producerEpoch;
  return {
    transactionalId,
    producerId: v.producerId,
    producerEpoch: v.producerEpoch,
    lastProducerEpoch: bumped ? prev.producerEpoch : prev?.lastProducerEpoch ?? -1,
    previousProducerId: v.previousProducerId,
    nextProducerId: v.nextProducerId,
    clientVersion: v.clientVersion,
    timeoutMs: v.timeoutMs,
    state: v.state,
    partitions: new Map(v.partitions.map((tp) => [tp.topic, new Set(tp.partitions)])),
    startMs: v.startMs,
    lastUpdateMs: v.lastUpdateMs,
    pending: false,
  };
}

/** What an EndTxn leads to. */
export type EndDecision =
  | { kind: 'error'; errorCode: number }
  /** A retry of an end that already completed: NONE, with the producer id and epoch as they are. */
  | { kind: 'done' }
  /** The transaction goes to PrepareCommit or PrepareAbort; `empty`: a v2 abort with no partition added. */
  | { kind: 'prepare'; commit: boolean; empty: boolean };

/** Kafka's TransactionCoordinator.endTransaction checks, in its order. */
export function decideEnd(t: TxnMetadata | undefined, i: TxnInput, commit: boolean, clientVersion: number): EndDecision {
  const error = (errorCode: number): EndDecision => ({ kind: 'error', errorCode });
  if (t === undefined) return error(ErrorCode.INVALID_PRODUCER_ID_MAPPING);
  const v2 = t.clientVersion >= EPOCH_BUMP_VERSION;
  // A v2 client retrying an end that bumped its epoch, or that gave it a fresh producer id.
  const retryOnBump = v2 && t.producerId === i.producerId && t.producerEpoch === i.producerEpoch + 1;
  const retryOnOverflow = v2 && t.previousProducerId === i.producerId && i.producerEpoch === MAX_PRODUCER_EPOCH - 1 && t.producerEpoch === 0;
  const sameEpoch = t.producerEpoch === i.producerEpoch;
  if (t.producerId !== i.producerId && !retryOnOverflow) return error(ErrorCode.INVALID_PRODUCER_ID_MAPPING);
  let validEpoch = sameEpoch;
  if (v2 && (t.state === TxnState.PrepareCommit || t.state === TxnState.PrepareAbort)) validEpoch = retryOnBump;
  else if (v2 && (t.state === TxnState.CompleteCommit || t.state === TxnState.CompleteAbort)) validEpoch = sameEpoch || retryOnBump || retryOnOverflow;
  if (!validEpoch) return error(ErrorCode.PRODUCER_FENCED);
  if (t.pending) return error(ErrorCode.CONCURRENT_TRANSACTIONS);
  const retry = !v2 || retryOnBump || retryOnOverflow;
  // With v2 a producer whose writes were all refused still ends its transaction: an abort
  // with nothing in it, which bumps the epoch all the same.
  const emptyAbort: EndDecision = !commit && clientVersion >= EPOCH_BUMP_VERSION ? { kind: 'prepare', commit: false, empty: true } : error(ErrorCode.INVALID_TXN_STATE);
  switch (t.state) {
    case TxnState.Ongoing:
      return { kind: 'prepare', commit, empty: false };
    case TxnState.CompleteCommit:
      if (commit) return retry ? { kind: 'done' } : error(ErrorCode.INVALID_TXN_STATE);
      return retry ? error(ErrorCode.INVALID_TXN_STATE) : emptyAbort;
    case TxnState.CompleteAbort:
      if (commit) return error(ErrorCode.INVALID_TXN_STATE);
      return retry ? { kind: 'done' } : emptyAbort;
    case TxnState.PrepareCommit:
      return error(commit ? ErrorCode.CONCURRENT_TRANSACTIONS : ErrorCode.INVALID_TXN_STATE);
    case TxnState.PrepareAbort:
      return error(commit ? ErrorCode.INVALID_TXN_STATE : ErrorCode.CONCURRENT_TRANSACTIONS);
    case TxnState.Empty:
      return emptyAbort;
    default:
      return error(ErrorCode.INVALID_TXN_STATE);
  }
}

/** Whether ending the transaction with this client version hands out a fresh producer id. */
export function endExhaustsEpochs(t: TxnMetadata, clientVersion: number): boolean {
  return clientVersion >= EPOCH_BUMP_VERSION && t.producerEpoch >= MAX_PRODUCER_EPOCH - 1;
}

/**
 * The PrepareCommit / PrepareAbort metadata of an end. With v2 the epoch is bumped (and the
 * markers carry it); `freshProducerId` is the one to hand out when the epochs ran out.
 */
export function prepareEnd(t: TxnMetadata, d: { commit: boolean; empty: boolean }, clientVersion: number, freshProducerId: number, now: number): TxnMetadata {
  const target = copyTxn(t);
  target.state = d.commit ? TxnState.PrepareCommit : TxnState.PrepareAbort;
  target.clientVersion = clientVersion;
  target.lastUpdateMs = now;
  if (clientVersion >= EPOCH_BUMP_VERSION) {
    target.lastProducerEpoch = t.producerEpoch;
    target.producerEpoch = t.producerEpoch + 1;
    target.nextProducerId = endExhaustsEpochs(t, clientVersion) ? freshProducerId : -1;
  }
  if (d.empty) {
    target.partitions = new Map();
    target.startMs = now;
  }
  return target;
}

/** The CompleteCommit / CompleteAbort metadata once the markers are written. */
export function completeEnd(t: TxnMetadata, now: number): TxnMetadata {
  const target = copyTxn(t);
  target.state = t.state === TxnState.PrepareCommit ? TxnState.CompleteCommit : TxnState.CompleteAbort;
  target.partitions = new Map();
  target.lastUpdateMs = now;
  if (t.nextProducerId >= 0) {
    target.previousProducerId = t.producerId;
    target.producerId = t.nextProducerId;
    target.producerEpoch = 0;
    target.nextProducerId = -1;
  }
  return target;
}

/** The producer id and epoch an EndTxn answers with: those the client goes on with. */
export function afterEnd(t: TxnMetadata): { producerId: number; producerEpoch: number } {
  return t.nextProducerId >= 0 ? { producerId: t.nextProducerId, producerEpoch: 0 } : { producerId: t.producerId, producerEpoch: t.producerEpoch };
}
