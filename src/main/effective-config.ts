/**
 * The settings this broker runs with now: its own server.properties under the dynamic
 * settings of the metadata log (per broker, then cluster default) and, for a topic, the
 * topic's own configs above all. Recomputed at every metadata update, so an altered config
 * reaches the logs and replicas without a restart.
 */
import type { BrokerConfig } from '../shared/config.js';
import { listItems, LONG_MAX, resolveTopicConfig, type BrokerConfigLayers } from '../shared/dynamic-config.js';
import { FSYNC_BEFORE_ACK, NO_FLUSH_LIMIT, type LogConfig } from '../shared/log-config.js';

/**
 * Dynamic broker settings that server.properties can also set: the value this broker resolved
 * (null: not set, the built-in default applies), and the names that set it.
 */
const STATIC_SETTINGS: Record<string, [(c: BrokerConfig) => number | boolean | string | null, string[]]> = {
  'log.retention.ms': [(c) => c.log.retentionMs, ['log.retention.ms', 'log.retention.minutes', 'log.retention.hours']],
  'log.roll.ms': [(c) => c.log.segmentMs, ['log.roll.ms', 'log.roll.hours']],
  'log.segment.bytes': [(c) => c.log.segmentBytes, ['log.segment.bytes']],
  'log.index.interval.bytes': [(c) => c.log.indexIntervalBytes, ['log.index.interval.bytes']],
  'log.retention.bytes': [(c) => c.log.retentionBytes, ['log.retention.bytes']],
  'message.max.bytes': [(c) => c.log.maxMessageBytes, ['message.max.bytes']],
  'min.insync.replicas': [(c) => c.minInsyncReplicas, ['min.insync.replicas']],
  'log.flush.interval.messages': [(c) => c.logFlushIntervalMessages, ['log.flush.interval.messages']],
  'log.flush.interval.ms': [(c) => c.logFlushIntervalMs, ['log.flush.interval.ms']],
  'log.write.caching': [(c) => c.logWriteCaching, ['log.write.caching']],
};

export function brokerLayers(config: BrokerConfig, dynamic: Readonly<Record<string, Record<string, string>>>): BrokerConfigLayers {
  const staticValues: Record<string, string> = {};
  const defaults: Record<string, string> = {};
  for (const [name, [get, keys]] of Object.entries(STATIC_SETTINGS)) {
    const value = get(config);
    if (value === null) continue;
    const set = keys.some((k) => config.staticKeys.includes(k));
    (set ? staticValues : defaults)[name] = String(value);
  }
  return { broker: dynamic[String(config.nodeId)] ?? {}, clusterDefault: dynamic[''] ?? {}, staticValues, defaults };
}

/**
 * Write caching's fsync limits when flush.messages and flush.ms are not set: those of Redpanda's
 * write caching (raft_replica_max_pending_flush_bytes, raft_replica_max_flush_delay_ms), per
 * partition.
 */
export const WRITE_CACHING_FLUSH_BYTES = 256 * 1024;
export const WRITE_CACHING_FLUSH_MS = 100;

type FlushPolicy = Pick<LogConfig, 'writeCaching' | 'flushMessages' | 'flushBytes' | 'flushMs'>;

/**
 * When a log's appends are answered and fsynced, from write.caching and the flush.messages and
 * flush.ms set (null: not set):
 * - none of them: fsynced on every in-sync replica before acks=all answers (the default);
 * - flush.messages=1: the same, as in Kafka, where it fsyncs every append before answering;
 * - otherwise acks answer once the in-sync replicas have the batch in the page cache, and the
 *   log is fsynced once flush.messages records are unsynced or the oldest unsynced record is
 *   flush.ms old. Kafka's flush.* alone set only the limits given (Kafka then leaves the rest
 *   to the OS); write.caching adds WRITE_CACHING_FLUSH_BYTES and, unless flush.ms is set,
 *   WRITE_CACHING_FLUSH_MS.
 */
export function flushPolicy(writeCaching: boolean, flushMessages: number | null, flushMs: number | null): FlushPolicy {
  if (flushMessages === 1 || (!writeCaching && flushMessages === null && flushMs === null)) return { ...FSYNC_BEFORE_ACK };
  return {
    writeCaching: true,
    flushMessages: flushMessages ?? NO_FLUSH_LIMIT,
    flushBytes: writeCaching ? WRITE_CACHING_FLUSH_BYTES : NO_FLUSH_LIMIT,
    flushMs: flushMs ?? (writeCaching ? WRITE_CACHING_FLUSH_MS : NO_FLUSH_LIMIT),
  };
}

export interface TopicSettings {
  logConfig: Partial<LogConfig>;
  minIsr: number;
}

/** What a topic's logs and replicas run with under `layers`. */
export function topicSettings(configs: Readonly<Record<string, string>>, layers: BrokerConfigLayers): TopicSettings {
  // The first layer holding a number wins: a value stored before validation cannot stop a log.
  const num = (name: string): number => {
    for (const s of resolveTopicConfig(name, configs, layers).synonyms) {
      const n = Number(s.value);
      if (s.value !== null && s.value.trim() !== '' && Number.isFinite(n)) return n;
    }
    return NaN;
  };
  const policy = listItems(resolveTopicConfig('cleanup.policy', configs, layers).value ?? 'delete');
  // A compacted-only topic is never trimmed by age or size, as in Kafka.
  const deletes = policy.includes('delete');
  // Kafka's Long.MAX_VALUE (and a value nothing resolves) means "not set".
  const explicit = (name: string): number | null => {
    const n = num(name);
    return Number.isNaN(n) || n >= Number(LONG_MAX) ? null : n;
  };
  const writeCaching = (resolveTopicConfig('write.caching', configs, layers).value ?? 'false').trim().toLowerCase() === 'true';
  return {
    logConfig: {
      segmentBytes: num('segment.bytes'),
      segmentMs: num('segment.ms'),
      indexIntervalBytes: num('index.interval.bytes'),
      retentionMs: deletes ? num('retention.ms') : -1,
      retentionBytes: deletes ? num('retention.bytes') : -1,
      maxMessageBytes: num('max.message.bytes'),
      ...flushPolicy(writeCaching, explicit('flush.messages'), explicit('flush.ms')),
      compact: policy.includes('compact'),
      deleteRetentionMs: num('delete.retention.ms'),
      minCleanableDirtyRatio: num('min.cleanable.dirty.ratio'),
      minCompactionLagMs: num('min.compaction.lag.ms'),
      maxCompactionLagMs: num('max.compaction.lag.ms'),
    },
    minIsr: num('min.insync.replicas'),
  };
}
