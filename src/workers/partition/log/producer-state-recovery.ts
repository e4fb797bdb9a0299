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
 */
import { CONTROL_FLAG, controlTypeAt } from '../../../shared/control-records.js';
import { BATCH_HEADER_SIZE } from '../../../shared/record-batch.js';
import { deleteSnapshots, listSnapshots, readSnapshot } from './producer-snapshot.js';
import { ProducerStateManager } from './producer-state.js';
import type { LogSegment } from './segment.js';

const HEADER_READ_CHUNK = 64 * 1024;

export interface ProducerStateLoad {
  dir: string;
  segments: readonly LogSegment[];
  logStartOffset: number;
  logEndOffset: number;
  nowMs: number;
  expirationMs?: number;
}

export interface LoadedProducerState {
  state: ProducerStateManager;
  /** The snapshot the state started from, or undefined when it was rebuilt from the log start. */
  snapshotOffset: number | undefined;
  /** Batches replayed from the log after the snapshot. */
  replayedBatches: number;
}

export async function loadProducerState(opts: ProducerStateLoad): Promise<LoadedProducerState> {
  const { dir, segments, logEndOffset } = opts;
  const state = new ProducerStateManager(opts.expirationMs);
  const snapshots = listSnapshots(dir);
  await deleteSnapshots(dir, (o) => o > logEndOffset, snapshots);
  let snapshotOffset: number | undefined;
  for (const offset of snapshots.filter((o) => o <= logEndOffset).reverse()) {
    const contents = readSnapshot(dir, offset);
    if (contents !== undefined) {
      state.restore(contents.entries, contents.aborted);
      snapshotOffset = offset;
      break;
    }
    await deleteSnapshots(dir, (o) => o === offset, [offset]);
  }
  const from = snapshotOffset ?? segments[0]?.baseOffset ?? 0;
  const replayedBatches = await replayHeaders(state, segments, from, logEndOffset);
  state.truncateHead(opts.logStartOffset);
  state.removeExpired(opts.nowMs);
  return { state, snapshotOffset, replayedBatches };
}

/** Replays the batches with base offsets in [from, to) into `state`; returns how many. */
async function replayHeaders(state: ProducerStateManager, segments: readonly LogSegment[], from: number, to: number): Promise<number> {
  let first = 0;
  while (first + 1 < segments.length && segments[first + 1]!.baseOffset <= from) first++;
  let n = 0;
  for (let i = first; i < segments.length; i++) {
    const seg = segments[i]!;
    let pos = seg.baseOffset < from ? seg.index.lookup(from - seg.baseOffset) : 0;
    const end = seg.writtenSize;
    while (pos + BATCH_HEADER_SIZE <= end) {
      const chunk = await seg.readAt(Math.min(HEADER_READ_CHUNK, end - pos), pos);
      let p = 0;
      while (p + BATCH_HEADER_SIZE <= chunk.length) {
        const baseOffset = Number(chunk.readBigInt64BE(p));
        if (baseOffset >= to) return n;
        const length = 12 + chunk.readInt32BE(p + 8);
        if (baseOffset >= from) {
          const attributes = chunk.readInt16BE(p + 21);
          // A marker's type is in its record: the only batches whose body is read here.
          const control = (attributes & CONTROL_FLAG) === 0
            ? undefined
            : p + length <= chunk.length
              ? controlTypeAt(chunk, p, p + length)
              : controlTypeAt(await seg.readAt(length, pos + p), 0, length);
          state.replay({
            attributes,
            lastOffsetDelta: chunk.readInt32BE(p + 23),
            maxTimestamp: Number(chunk.readBigInt64BE(p + 35)),
            producerId: Number(chunk.readBigInt64BE(p + 43)),
            producerEpoch: chunk.readInt16BE(p + 51),
            baseSequence: chunk.readInt32BE(p + 53),
            controlType: control,
          }, baseOffset);
          n++;
        }
        p += length;
      }
      if (p === 0) break;
      pos += p;
    }
  }
  return n;
}
