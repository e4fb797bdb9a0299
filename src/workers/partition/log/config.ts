/** Per-log settings, named after the Kafka broker properties they come from. */
export interface LogConfig {
  /** log.segment.bytes: roll when the active segment would grow past this. */
  segmentBytes: number;
  /** log.roll.ms: roll when the active segment's first batch is older than this. */
  segmentMs: number;
  /** log.index.interval.bytes: bytes of log between two offset-index entries. */
  indexIntervalBytes: number;
  /** log.retention.ms: delete segments whose newest record is older (-1: keep forever). */
  retentionMs: number;
  /** log.retention.bytes: delete old segments while the log is larger (-1: no limit). */
  retentionBytes: number;
  /** log.retention.check.interval.ms */
  retentionCheckIntervalMs: number;
  /** message.max.bytes: a batch larger than this gets MESSAGE_TOO_LARGE. */
  maxMessageBytes: number;
  /** cleanup.policy includes compact: the log cleaner keeps the latest record of each key. */
  compact: boolean;
  /** delete.retention.ms: a tombstone stays this long after the cleaning that first kept it. */
  deleteRetentionMs: number;
  /** min.cleanable.dirty.ratio: the share of the log not yet cleaned that starts a cleaning. */
  minCleanableDirtyRatio: number;
  /** min.compaction.lag.ms: records younger than this are not cleaned. */
  minCompactionLagMs: number;
  /** max.compaction.lag.ms: records older than this are cleaned whatever the dirty ratio. */
  maxCompactionLagMs: number;
}

export const defaultLogConfig: LogConfig = {
  segmentBytes: 1024 * 1024 * 1024,
  segmentMs: 7 * 24 * 3600 * 1000,
  indexIntervalBytes: 4096,
  retentionMs: 7 * 24 * 3600 * 1000,
  retentionBytes: -1,
  retentionCheckIntervalMs: 5 * 60 * 1000,
  maxMessageBytes: 1024 * 1024 + 12,
  compact: false,
  deleteRetentionMs: 86_400_000,
  minCleanableDirtyRatio: 0.5,
  minCompactionLagMs: 0,
  maxCompactionLagMs: Number.MAX_SAFE_INTEGER,
};
