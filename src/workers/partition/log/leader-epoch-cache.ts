/**
 * Leader epoch -> first offset written in that epoch, as Kafka's LeaderEpochFileCache keeps
 * it. A follower asks the leader for the end offset of its latest epoch and truncates its
 * log there when they diverge. Persisted as `leader-epoch-checkpoint` in the partition dir
 * (checkpoint-file.ts format, entries `epoch startOffset`). Epochs and start offsets both grow.
 */
import path from 'node:path';
import { readCheckpoint, writeCheckpoint } from './checkpoint-file.js';
import type { DescriptorSlots } from './file-cache.js';

export const LEADER_EPOCH_CHECKPOINT = 'leader-epoch-checkpoint';
export const UNDEFINED_EPOCH = -1;
export const UNDEFINED_EPOCH_OFFSET = -1;

export interface EpochEntry {
  epoch: number;
  startOffset: number;
}

export class LeaderEpochCache {
  entries: EpochEntry[] = [];
  private writes: Promise<void> = Promise.resolve();

  /**
   * `onWriteError` hears about a checkpoint that could not be written (the disk failed);
   * `slots` lends the descriptor each write takes.
   */
  constructor(
    private readonly dir: string,
    private readonly onWriteError: (err: unknown) => void,
    private readonly slots: DescriptorSlots,
  ) {}

  static load(dir: string, onWriteError: (err: unknown) => void, slots: DescriptorSlots): LeaderEpochCache {
    const cache = new LeaderEpochCache(dir, onWriteError, slots);
    const lines = readCheckpoint(path.join(dir, LEADER_EPOCH_CHECKPOINT)) ?? [];
    for (const [e, o] of lines) cache.assignInMemory(Number(e), Number(o));
    return cache;
  }

  latestEpoch(): number {
    return this.entries.length ? this.entries[this.entries.length - 1]!.epoch : UNDEFINED_EPOCH;
  }

  /** Records that `epoch` starts at `startOffset`; true when that changed the cache. */
  assign(epoch: number, startOffset: number): boolean {
    if (!this.assignInMemory(epoch, startOffset)) return false;
    this.persist();
    return true;
  }

  private assignInMemory(epoch: number, startOffset: number): boolean {
    if (!Number.isInteger(epoch) || epoch < 0 || !Number.isFinite(startOffset)) return false;
    const last = this.entries[this.entries.length - 1];
    if (last && (epoch <= last.epoch || startOffset < last.startOffset)) return false;
    this.entries.push({ epoch, startOffset });
    return true;
  }

  /** Drops epochs starting at or after `endOffset` (the log was cut there). */
  truncateFromEnd(endOffset: number): void {
    const before = this.entries.length;
    this.entries = this.entries.filter((e) => e.startOffset < endOffset);
    if (this.entries.length !== before) this.persist();
  }

  /** The log now starts at `startOffset`: earlier epochs collapse into the one covering it. */
  truncateFromStart(startOffset: number): void {
    let i = 0;
    while (i + 1 < this.entries.length && this.entries[i + 1]!.startOffset <= startOffset) i++;
    const first = this.entries[i];
    if (!first || (i === 0 && first.startOffset >= startOffset)) return;
    this.entries = [{ epoch: first.epoch, startOffset: Math.max(first.startOffset, startOffset) }, ...this.entries.slice(i + 1)];
    this.persist();
  }

  /** Kafka's OffsetsForLeaderEpoch answer on this log (epochEndOffset). */
  endOffsetForEpoch(epoch: number, logEndOffset: number): { epoch: number; endOffset: number } {
    return epochEndOffset(this.entries, epoch, logEndOffset);
  }

  /** Resolves when every change so far is on disk. */
  flushed(): Promise<void> {
    return this.writes;
  }

  /** Writes the checkpoint from memory (also to replace one whose write failed). */
  persist(): void {
    const snapshot = this.entries.map((e) => [e.epoch, e.startOffset]);
    const file = path.join(this.dir, LEADER_EPOCH_CHECKPOINT);
    this.writes = this.writes.then(() => this.slots.borrow(1, () => writeCheckpoint(file, snapshot))).catch(this.onWriteError);
  }
}

/**
 * Kafka's OffsetsForLeaderEpoch answer: for the latest epoch, the log end offset; for an
 * older one, the start offset of the next epoch, under the largest epoch <= the one asked.
 */
export function epochEndOffset(entries: readonly EpochEntry[], epoch: number, logEndOffset: number): { epoch: number; endOffset: number } {
  const undefinedAnswer = { epoch: UNDEFINED_EPOCH, endOffset: UNDEFINED_EPOCH_OFFSET };
  if (epoch === UNDEFINED_EPOCH) return undefinedAnswer;
  const latest = entries.length ? entries[entries.length - 1]!.epoch : UNDEFINED_EPOCH;
  if (epoch === latest) return { epoch, endOffset: logEndOffset };
  const higher = entries.find((e) => e.epoch > epoch);
  if (!higher) return undefinedAnswer;
  const floor = [...entries].reverse().find((e) => e.epoch <= epoch);
  return floor ? { epoch: floor.epoch, endOffset: higher.startOffset } : { epoch, endOffset: higher.startOffset };
}
