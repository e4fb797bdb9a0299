/**
 * The coordinator's I/O on one `__consumer_offsets` partition, through the partition workers
 * like any client's: appends (acks=all, so a reply follows only a durable write) and a read
 * of the whole partition from its start, which is how group state comes back after a restart
 * or a leadership move.
 */
import { ErrorCode } from '../../shared/errors.js';
import { readLogRecords, type LogRecord } from '../../shared/groups/log-records.js';
import type { GroupRecord } from '../../shared/groups/records.js';
import { TRANSACTIONAL_FLAG } from '../../shared/control-records.js';
import { buildRecordBatch, resealBatch } from '../../shared/record-batch.js';
import { MsgType, type FetchResultMsg, type ProduceResultMsg } from '../../shared/thread-messages.js';
import type { PartitionWorkers } from '../partition-workers.js';
import { scatter } from '../scatter.js';

/** Bytes asked per read while loading: records are small, so few rounds even for big groups. */
const LOAD_FETCH_BYTES = 1024 * 1024;
const APPEND_TIMEOUT_MS = 30_000;

/**
 * Appends the records as one batch with acks=all; resolves with the worker's error code.
 * The message leaves before the first await, so appends issued in order reach the log in order.
 */
export function appendGroupRecords(workers: PartitionWorkers, topic: string, partition: number, leaderEpoch: number, records: GroupRecord[]): Promise<number> {
  const batch = buildRecordBatch({ records: records.map((r) => ({ key: r.key, value: r.value })) });
  return scatter<ProduceResultMsg>(workers, [
    {
      worker: workers.ownerOf(topic, partition),
      msg: { type: MsgType.PRODUCE, acks: -1, topic, partition, leaderEpoch, timeoutMs: APPEND_TIMEOUT_MS, records: batch },
    },
  ]).then(([r]) => r!.error);
}

/**
 * Appends offset records a transactional producer commits: one transactional batch of its
 * producer id and epoch, without sequence (as Kafka's coordinator writes them), visible to
 * the group only once the transaction's COMMIT marker follows.
 */
export function appendTxnGroupRecords(
  workers: PartitionWorkers, topic: string, partition: number, leaderEpoch: number, producerId: number, producerEpoch: number, records: GroupRecord[],
): Promise<number> {
  const batch = buildRecordBatch({ records: records.map((r) => ({ key: r.key, value: r.value })), producerId, producerEpoch, baseSequence: -1 });
  batch.writeInt16BE(TRANSACTIONAL_FLAG, 21);
  resealBatch(batch, 0);
  return scatter<ProduceResultMsg>(workers, [
    {
      worker: workers.ownerOf(topic, partition),
      msg: { type: MsgType.PRODUCE, acks: -1, topic, partition, leaderEpoch, timeoutMs: APPEND_TIMEOUT_MS, records: batch, markers: true },
    },
  ]).then(([r]) => r!.error);
}

export interface LoadOutcome {
  errorCode: number;
  records: number;
  /** Batches that cannot hold group records (compressed or control), passed over. */
  skipped: number;
}

/** Reads the partition from its log start to its high watermark, handing each record over in order. */
export async function readGroupRecords(workers: PartitionWorkers, topic: string, partition: number, onRecord: (r: LogRecord) => void): Promise<LoadOutcome> {
  let offset = 0;
  let records = 0;
  let skipped = 0;
  for (;;) {
    const [r] = await scatter<FetchResultMsg>(workers, [
      {
        worker: workers.ownerOf(topic, partition),
        msg: { type: MsgType.FETCH, watch: false, topic, partition, offset, maxBytes: LOAD_FETCH_BYTES, replicaId: -1, lastFetchedEpoch: -1, currentLeaderEpoch: -1 },
      },
    ]);
    if (r!.error === ErrorCode.OFFSET_OUT_OF_RANGE && offset < r!.logStartOffset) {
      offset = r!.logStartOffset;
      continue;
    }
    if (r!.error !== ErrorCode.NONE) return { errorCode: r!.error, records, skipped };
    if (offset >= r!.highWatermark || r!.records.length === 0) return { errorCode: ErrorCode.NONE, records, skipped };
    const read = readLogRecords(Buffer.from(r!.records.buffer, r!.records.byteOffset, r!.records.length), offset);
    for (const rec of read.records) {
      if (rec.offset >= offset) onRecord(rec);
    }
    records += read.records.length;
    skipped += read.skipped;
    if (read.nextOffset <= offset) return { errorCode: ErrorCode.CORRUPT_MESSAGE, records, skipped };
    offset = read.nextOffset;
  }
}
