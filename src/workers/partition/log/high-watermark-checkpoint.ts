/**
 * The high watermarks of a log dir's logs in `replication-offset-checkpoint` (Kafka's name and
 * format, dir-checkpoints.ts). The mark belongs to replication, not to the log: this keeps the
 * checkpointed one for whoever starts a partition's replication, and writes the marks that
 * replication gives, so that a restarted broker never starts a partition from a mark below one
 * it had already shown.
 */
import type { Logger } from '../../../shared/logger.js';
import { partitionKey as key, type CheckpointEntry, type DirCheckpoints } from './dir-checkpoints.js';
import type { PartitionLog } from './partition-log.js';

export const HIGH_WATERMARK_CHECKPOINT = 'replication-offset-checkpoint';

export class HighWatermarkCheckpoint {
  /** The high watermarks last checkpointed (read at start, updated at each write), by key. */
  private readonly checkpointedHws = new Map<string, number>();
  private highWatermarkSource: ((log: PartitionLog) => number | undefined) | undefined;

  /** `logs`: the manager's logs by partitionKey, read at each write. */
  constructor(
    private readonly logs: ReadonlyMap<string, PartitionLog>,
    private readonly checkpoints: DirCheckpoints,
    private readonly logger: Logger,
  ) {
    for (const [k, hw] of this.checkpoints.read(HIGH_WATERMARK_CHECKPOINT)) if (hw >= 0) this.checkpointedHws.set(k, hw);
  }

  /** Where the current marks come from (replication); until set, nothing is written. */
  setSource(current: (log: PartitionLog) => number | undefined): void {
    this.highWatermarkSource = current;
  }

  /** A log created again under the same name starts from nothing, not from this one's mark. */
  forget(topic: string, partition: number): void {
    this.checkpointedHws.delete(key(topic, partition));
  }

  /**
   * The high watermark checkpointed for the partition, capped by the log's end (Kafka's rule on
   * loading it: a mark above what the log holds would count records it does not have);
   * undefined when none was.
   */
  checkpointedHighWatermark(topic: string, partition: number): number | undefined {
    const hw = this.checkpointedHws.get(key(topic, partition));
    const log = this.logs.get(key(topic, partition));
    return hw === undefined || !log ? undefined : Math.max(log.logStartOffset, Math.min(hw, log.logEndOffset));
  }

  /**
   * Writes every log's current high watermark (the last one checkpointed for a log whose
   * replication has none yet) to replication-offset-checkpoint. Writes do not overlap: each
   * starts after the previous one and reads the marks when it starts.
   */
  writeHighWatermarkCheckpoint(): Promise<void> {
    const source = this.highWatermarkSource;
    if (!source) return Promise.resolve();
    return this.checkpoints
      .write(HIGH_WATERMARK_CHECKPOINT, () => {
        const entries: CheckpointEntry[] = [];
        for (const [k, log] of this.logs) {
          const hw = source(log) ?? this.checkpointedHws.get(k);
          if (hw === undefined || hw < 0) continue;
          this.checkpointedHws.set(k, hw);
          entries.push([log.topic, log.partition, hw]);
        }
        return entries;
      })
      .catch((err: unknown) => this.logger.error({ err }, 'replication-offset-checkpoint write failed'));
  }
}
