/** Per-log settings, named after the Kafka broker properties they come from. */
export interface LogConfig {
  /** log.segment.bytes: roll when the active segment would grow past this. */
  segmentBytes: number;
  /** log.zero.ahead.bytes: zeros kept written past the active segment's end (0: none). */
  zeroAheadBytes: number;
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
  /**
   * write.caching, or flush.messages / flush.ms set: acks=1 and acks=all answer once the
   * batch is written (in the page cache) rather than fsynced, and the log is fsynced by the
   * three limits below, whichever comes first. false: fsynced before acks=all answers.
   */
  writeCaching: boolean;
  /** flush.messages: records written since the last fsync that start one. */
  flushMessages: number;
  /** Bytes written since the last fsync that start one (write.caching's own limit). */
  flushBytes: number;
  /** flush.ms: the longest a written record waits for its fsync. */
  flushMs: number;
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

/** A flush limit that is never reached. */
export const NO_FLUSH_LIMIT = Number.MAX_SAFE_INTEGER;

/** The default: every acks=all append is fsynced before it is answered. */
export const FSYNC_BEFORE_ACK = { writeCaching: false, flushMessages: NO_FLUSH_LIMIT, flushBytes: NO_FLUSH_LIMIT, flushMs: NO_FLUSH_LIMIT } as const;

export const defaultLogConfig: LogConfig = {
  segmentBytes: 1024 * 1024 * 1024,
  zeroAheadBytes: 1024 * 1024,
  segmentMs: 7 * 24 * 3600 * 1000,
  indexIntervalBytes: 4096,
  retentionMs: 7 * 24 * 3600 * 1000,
  retentionBytes: -1,
  retentionCheckIntervalMs: 5 * 60 * 1000,
  maxMessageBytes: 1024 * 1024 + 12,
  ...FSYNC_BEFORE_ACK,
  compact: false,
  deleteRetentionMs: 86_400_000,
  minCleanableDirtyRatio: 0.5,
  minCompactionLagMs: 0,
  maxCompactionLagMs: Number.MAX_SAFE_INTEGER,
};
