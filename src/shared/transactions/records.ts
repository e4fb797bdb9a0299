/**
 * The records of `__transaction_state`, in Kafka's own formats (the transaction coordinator's
 * `TransactionLogKey` and `TransactionLogValue` schemas), so the topic reads the same as on a
 * Kafka broker. Pure: bytes in, objects out.
 *
 *   TransactionLogKey    version int16 (0) | transactionalId string
 *   TransactionLogValue  version int16 (0) | producerId int64 | producerEpoch int16
 *                        | transactionTimeoutMs int32 | state int8
 *                        | partitions nullable array (int32 count, -1 = null) of
 *                          topic string | partitionIds int32 count + int32 each
 *                        | lastUpdateTimestampMs int64 | startTimestampMs int64
 *
 * A null value (tombstone) removes the transactional id. The flexible value version 1 that
 * Kafka 4.x writes for transactions v2 is refused as unknown: this topic is only written here.
 */
import { Reader } from '../protocol/reader.js';
import { Writer } from '../protocol/writer.js';

/** Kafka's TransactionState ids, as written in the log. */
export enum TxnState {
  Empty = 0,
  Ongoing = 1,
  PrepareCommit = 2,
  PrepareAbort = 3,
  CompleteCommit = 4,
  CompleteAbort = 5,
  Dead = 6,
  PrepareEpochFence = 7,
}

/** The names DescribeTransactions and ListTransactions use. */
export const TXN_STATE_NAMES: Record<TxnState, string> = {
  [TxnState.Empty]: 'Empty',
  [TxnState.Ongoing]: 'Ongoing',
  [TxnState.PrepareCommit]: 'PrepareCommit',
  [TxnState.PrepareAbort]: 'PrepareAbort',
  [TxnState.CompleteCommit]: 'CompleteCommit',
  [TxnState.CompleteAbort]: 'CompleteAbort',
  [TxnState.Dead]: 'Dead',
  [TxnState.PrepareEpochFence]: 'PrepareEpochFence',
};

export interface TopicPartitions {
  topic: string;
  partitions: number[];
}

export interface TxnLogValue {
  producerId: number;
  producerEpoch: number;
  timeoutMs: number;
  state: TxnState;
  partitions: TopicPartitions[];
  lastUpdateMs: number;
  startMs: number;
}

export function encodeTxnKey(transactionalId: string): Buffer {
  const w = new Writer(32);
  w.int16(0);
  w.string(transactionalId);
  return w.toBuffer();
}

export function encodeTxnValue(v: TxnLogValue): Buffer {
  const w = new Writer(64);
  w.int16(0);
  w.int64(v.producerId);
  w.int16(v.producerEpoch);
  w.int32(v.timeoutMs);
  w.int8(v.state);
  if (v.partitions.length === 0) w.int32(-1);
  else {
    w.int32(v.partitions.length);
    for (const t of v.partitions) {
      w.string(t.topic);
      w.int32(t.partitions.length);
      for (const p of t.partitions) w.int32(p);
    }
  }
  w.int64(v.lastUpdateMs);
  w.int64(v.startMs);
  return w.toBuffer();
}

/** Throws ProtocolDecodeError on malformed bytes, Error on an unknown version. */
export function decodeTxnKey(b: Buffer): string {
  const r = new Reader(b);
  const version = r.int16();
  if (version !== 0) throw new Error(`unknown __transaction_state key version ${version}`);
  return r.string();
}

export function decodeTxnValue(b: Buffer): TxnLogValue {
  const r = new Reader(b);
  const version = r.int16();
  if (version !== 0) throw new Error(`unknown __transaction_state value version ${version}`);
  const producerId = r.int64();
  const producerEpoch = r.int16();
  const timeoutMs = r.int32();
  const state = r.int8();
  if (!(state in TXN_STATE_NAMES)) throw new Error(`unknown transaction state ${state}`);
  const count = r.int32();
  const partitions: TopicPartitions[] = [];
  for (let i = 0; i < count; i++) {
    const topic = r.string();
    const n = r.arrayLength();
    const ids: number[] = [];
    for (let j = 0; j < n; j++) ids.push(r.int32());
    partitions.push({ topic, partitions: ids });
  }
  const lastUpdateMs = r.int64();
  const startMs = r.int64();
  return { producerId, producerEpoch, timeoutMs, state: state as TxnState, partitions, lastUpdateMs, startMs };
}
