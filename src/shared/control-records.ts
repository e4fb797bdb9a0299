/**
 * Transaction markers: the control batches (attributes transactional | control) that end a
 * producer's transaction in a partition's log, in Kafka's layout. The batch holds one record
 * whose key is `version int16 (0) | type int16` (0 ABORT, 1 COMMIT) and whose value is
 * `version int16 (0) | coordinatorEpoch int32`. Pure: bytes in, bytes out.
 */
import { BATCH_HEADER_SIZE, buildRecordBatch, readVarint, readVarlong, resealBatch } from './record-batch.js';

export const TRANSACTIONAL_FLAG = 0x10;
export const CONTROL_FLAG = 0x20;

export const enum ControlType {
  ABORT = 0,
  COMMIT = 1,
}

/** A marker batch for one producer, as a transaction coordinator asks a partition leader to write. */
export function buildMarkerBatch(producerId: number, producerEpoch: number, commit: boolean, coordinatorEpoch: number, now = Date.now()): Buffer {
  const key = Buffer.alloc(4);
  key.writeInt16BE(0, 0);
  key.writeInt16BE(commit ? ControlType.COMMIT : ControlType.ABORT, 2);
  const value = Buffer.alloc(6);
  value.writeInt16BE(0, 0);
  value.writeInt32BE(coordinatorEpoch, 2);
  const batch = buildRecordBatch({ records: [{ key, value }], firstTimestamp: now, producerId, producerEpoch, baseSequence: -1 });
  batch.writeInt16BE(TRANSACTIONAL_FLAG | CONTROL_FLAG, 21);
  resealBatch(batch, 0);
  return batch;
}

/**
 * The control type of the control batch at `pos` (its first record's key), or undefined when
 * the bytes up to `end` do not hold a readable one.
 */
export function controlTypeAt(buf: Buffer, pos: number, end: number): ControlType | undefined {
  const cur = { pos: pos + BATCH_HEADER_SIZE };
  if (readVarint(buf, cur, end) === undefined) return undefined;
  cur.pos += 1;
  if (readVarlong(buf, cur, end) === undefined || readVarint(buf, cur, end) === undefined) return undefined;
  const keyLength = readVarint(buf, cur, end);
  if (keyLength === undefined || keyLength < 4 || cur.pos + 4 > end) return undefined;
  const type = buf.readInt16BE(cur.pos + 2);
  return type === ControlType.COMMIT || type === ControlType.ABORT ? type : undefined;
}
