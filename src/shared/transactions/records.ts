/**
 * The records of `__transaction_state`, in Kafka's own formats (the transaction coordinator's
 * `TransactionLogKey` and `TransactionLogValue` schemas), so the topic reads the same as on a
 * Kafka broker. Pure: bytes in, objects out.
 *
 *   TransactionLogKey    version int16 (0) | transactionalId string
 *   TransactionLogValue  version int16 (0 or 1) | producerId int64 | producerEpoch int16
 *                        | transactionTimeoutMs int32 | state int8
 *                        | partitions nullable array of
 *                          topic string | partitionIds array of int32
 *                        | lastUpdateTimestampMs int64 | startTimestampMs int64
 *
 * Version 0 has int16-sized strings and int32 counts (-1 = null). Version 1, which Kafka 4.x
 * writes once `transaction.version` is 1 or more and which is what is written here, is
 * flexible: compact strings and arrays, each struct ending in tagged fields; the value's
 * tagged fields are previousProducerId (tag 0), nextProducerId (tag 1) and the client's
 * transaction version (tag 2), each left out at its default (-1, -1, 0).
 * A null value (tombstone) removes the transactional id.
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
  /** The producer id before the last one handed out (a new one is handed out when the epochs run out). */
  previousProducerId: number;
  /** The producer id the transaction being ended hands out next, or -1. */
  nextProducerId: number;
  /** The transaction version of the client's last request (2: the epoch is bumped at every end). */
  clientVersion: number;
}

const VALUE_VERSION = 1;

export function encodeTxnKey(transactionalId: string): Buffer {
  const w = new Writer(32);
  w.int16(0);
  w.string(transactionalId);
  return w.toBuffer();
}

export function encodeTxnValue(v: TxnLogValue): Buffer {
  const w = new Writer(64);
  w.int16(VALUE_VERSION);
  w.int64(v.producerId);
  w.int16(v.producerEpoch);
  w.int32(v.timeoutMs);
  w.int8(v.state);
  w.compactArrayLength(v.partitions.length === 0 ? -1 : v.partitions.length);
  for (const t of v.partitions) {
    w.compactString(t.topic);
    w.compactArrayLength(t.partitions.length);
    for (const p of t.partitions) w.int32(p);
    w.emptyTaggedFields();
  }
  w.int64(v.lastUpdateMs);
  w.int64(v.startMs);
  const tagged: [number, Buffer][] = [];
  const int64 = (n: number): Buffer => { const b = Buffer.alloc(8); b.writeBigInt64BE(BigInt(n)); return b; };
  if (v.previousProducerId !== -1) tagged.push([0, int64(v.previousProducerId)]);
  if (v.nextProducerId !== -1) tagged.push([1, int64(v.nextProducerId)]);
  if (v.clientVersion !== 0) { const b = Buffer.alloc(2); b.writeInt16BE(v.clientVersion); tagged.push([2, b]); }
  w.unsignedVarint(tagged.length);
  for (const [tag, value] of tagged) w.taggedField(tag, value);
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
  if (version !== 0 && version !== 1) throw new Error(`unknown __transaction_state value version ${version}`);
  const flexible = version === 1;
  const producerId = r.int64();
  const producerEpoch = r.int16();
  const timeoutMs = r.int32();
  const state = r.int8();
  if (!(state in TXN_STATE_NAMES)) throw new Error(`unknown transaction state ${state}`);
  const count = flexible ? r.compactNullableArrayLength() : r.int32();
  const partitions: TopicPartitions[] = [];
  for (let i = 0; i < count; i++) {
    const topic = flexible ? r.compactString() : r.string();
    const n = flexible ? r.compactArrayLength() : r.arrayLength();
    const ids: number[] = [];
    for (let j = 0; j < n; j++) ids.push(r.int32());
    if (flexible) skipTaggedFields(r);
    partitions.push({ topic, partitions: ids });
  }
  const lastUpdateMs = r.int64();
  const startMs = r.int64();
  const v: TxnLogValue = {
    producerId, producerEpoch, timeoutMs, state: state as TxnState, partitions, lastUpdateMs, startMs,
    previousProducerId: -1, nextProducerId: -1, clientVersion: 0,
  };
  if (flexible) {
    for (let n = r.taggedFieldCount(); n > 0; n--) {
      const tag = r.unsignedVarint();
      const end = r.taggedFieldEnd();
      if (tag === 0) v.previousProducerId = r.int64();
      else if (tag === 1) v.nextProducerId = r.int64();
      else if (tag === 2) v.clientVersion = r.int16();
      r.endTaggedField(end);
    }
  }
  return v;
}

function skipTaggedFields(r: Reader): void {
  for (let n = r.taggedFieldCount(); n > 0; n--) {
    r.unsignedVarint();
    r.endTaggedField(r.taggedFieldEnd());
  }
}
