/**
 * Rebuilding a partition's producer state (producer-state.ts): the newest readable snapshot
 * (producer-snapshot.ts) at or below the log end offset, then every batch from that offset
 * to the end replayed from its header. The producer fields all sit in the 61-byte batch
 * header, so the walk reads a chunk at each header and skips the batch bodies it does not
 * need. After a clean close the snapshot is at the log end and nothing is replayed; after a
 * crash, the batches since the last segment roll are.
 *
 * Snapshots above the log end describe batches the log no longer has (a torn tail cut by
 * recovery, a truncation) and are deleted, as are damaged ones.
 *
 * The same replay rebuilds the segments' aborted-transaction indexes (txn-index.ts) where they
 * are not trusted: the state starts from a snapshot at or below the offset the indexes are
 * trusted to, and each ABORT marker replayed adds its entry to its segment's index unless the
 * index has it. A snapshot written before those indexes existed lists the partition's aborted
 * transactions itself; they go to the indexes too, so a data dir of that time loses none.
 */
import { CONTROL_FLAG, controlTypeAt } from '../../../shared/control-records.js';
import { BATCH_HEADER_SIZE } from '../../../shared/record-batch.js';
import { deleteSnapshots, listSnapshots, readSnapshot } from './producer-snapshot.js';
import { ProducerStateManager } from './producer-state.js';
import type { LogSegment } from './segment.js';
import type { AbortedTxn } from './txn-index.js';

const HEADER_READ_CHUNK = 64 * 1024;

export interface ProducerStateLoad {
  dir: string;
  segments: readonly LogSegment[];
  logStartOffset: number;
  logEndOffset: number;
  nowMs: number;
  expirationMs?: number;
  /**
   * The segments' transaction indexes hold every entry of a marker below this offset (the
   * recovery point after a crash); the log end offset when omitted.
   */
  txnIndexedBelow?: number;
}

export interface LoadedProducerState {
  state: ProducerStateManager;
  /** The snapshot the state started from, or undefined when it was rebuilt from the log start. */
  snapshotOffset: number | undefined;
  /** Batches replayed from the log after the snapshot. */
  replayedBatches: number;
  /** Entries added to the segments' transaction indexes. */
  indexedTxns: number;
}

export async function loadProducerState(opts: ProducerStateLoad): Promise<LoadedProducerState> {
  const { dir, segments, logEndOffset } = opts;
  const state = new ProducerStateManager(opts.expirationMs);
  const snapshots = listSnapshots(dir);
  await deleteSnapshots(dir, (o) => o > logEndOffset, snapshots);
  const startBelow = Math.min(opts.txnIndexedBelow ?? logEndOffset, logEndOffset);
  let snapshotOffset: number | undefined;
  let indexedTxns = 0;
  for (const offset of snapshots.filter((o) => o <= startBelow).reverse()) {
    const contents = readSnapshot(dir, offset);
    if (contents !== undefined) {
      state.restore(contents.entries);
      for (const a of contents.legacyAborted) if (addToIndex(segments, a)) indexedTxns++;
      snapshotOffset = offset;
      break;
    }
    await deleteSnapshots(dir, (o) => o === offset, [offset]);
  }
  const from = snapshotOffset ?? segments[0]?.baseOffset ?? 0;
  const replay = await replayHeaders(state, segments, from, logEndOffset);
  state.truncateHead(opts.logStartOffset);
  state.removeExpired(opts.nowMs);
  return { state, snapshotOffset, replayedBatches: replay.batches, indexedTxns: indexedTxns + replay.indexed };
}

/** Adds `a` to the index of the segment holding its marker; false when it has it, or no segment does. */
function addToIndex(segments: readonly LogSegment[], a: AbortedTxn): boolean {
  let i = segments.length - 1;
  while (i >= 0 && segments[i]!.baseOffset > a.lastOffset) i--;
  return i >= 0 && segments[i]!.txnIndex.add(a);
}

/**
 * Replays the batches with base offsets in [from, to) into `state`, adding the entries of the
 * ABORT markers to their segments' indexes; returns how many batches and new entries.
 */
async function replayHeaders(state: ProducerStateManager, segments: readonly LogSegment[], from: number, to: number): Promise<{ batches: number; indexed: number }> {
  let first = 0;
  while (first + 1 < segments.length && segments[first + 1]!.baseOffset <= from) first++;
  let n = 0;
  let indexed = 0;
  for (let i = first; i < segments.length; i++) {
    const seg = segments[i]!;
    let pos = seg.baseOffset < from ? seg.index.lookup(from - seg.baseOffset) : 0;
    const end = seg.writtenSize;
    while (pos + BATCH_HEADER_SIZE <= end) {
      const chunk = await seg.readAt(Math.min(HEADER_READ_CHUNK, end - pos), pos);
      let p = 0;
      while (p + BATCH_HEADER_SIZE <= chunk.length) {
        const baseOffset = Number(chunk.readBigInt64BE(p));
        if (baseOffset >= to) return { batches: n, indexed };
        const length = 12 + chunk.readInt32BE(p + 8);
        if (baseOffset >= from) {
          const attributes = chunk.readInt16BE(p + 21);
          // A marker's type is in its record: the only batches whose body is read here.
          const control = (attributes & CONTROL_FLAG) === 0
            ? undefined
            : p + length <= chunk.length
              ? controlTypeAt(chunk, p, p + length)
              : controlTypeAt(await seg.readAt(length, pos + p), 0, length);
          const aborted = state.replay({
            attributes,
            lastOffsetDelta: chunk.readInt32BE(p + 23),
            maxTimestamp: Number(chunk.readBigInt64BE(p + 35)),
            producerId: Number(chunk.readBigInt64BE(p + 43)),
            producerEpoch: chunk.readInt16BE(p + 51),
            baseSequence: chunk.readInt32BE(p + 53),
            controlType: control,
          }, baseOffset);
          if (aborted !== undefined && seg.txnIndex.add(aborted)) indexed++;
          n++;
        }
        p += length;
      }
      if (p === 0) break;
      pos += p;
    }
  }
  return { batches: n, indexed };
}
