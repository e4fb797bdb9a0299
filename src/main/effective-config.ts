/**
 * The settings this broker runs with now: its own server.properties under the dynamic
 * settings of the metadata log (per broker, then cluster default) and, for a topic, the
 * topic's own configs above all. Recomputed at every metadata update, so an altered config
 * reaches the logs and replicas without a restart.
 */
import type { BrokerConfig } from '../shared/config.js';
import { listItems, resolveTopicConfig, type BrokerConfigLayers } from '../shared/dynamic-config.js';
import type { LogConfig } from '../workers/partition/log/config.js';

/** Dynamic broker settings that server.properties can also set: the value this broker resolved, and the names that set it. */
const STATIC_SETTINGS: Record<string, [(c: BrokerConfig) => number, string[]]> = {
  'log.retention.ms': [(c) => c.retentionMs, ['log.retention.ms', 'log.retention.minutes', 'log.retention.hours']],
  'log.roll.ms': [(c) => c.segmentMs, ['log.roll.ms', 'log.roll.hours']],
  'log.segment.bytes': [(c) => c.segmentBytes, ['log.segment.bytes']],
  'log.index.interval.bytes': [(c) => c.indexIntervalBytes, ['log.index.interval.bytes']],
  'log.retention.bytes': [(c) => c.retentionBytes, ['log.retention.bytes']],
  'message.max.bytes': [(c) => c.messageMaxBytes, ['message.max.bytes']],
  'min.insync.replicas': [(c) => c.minInsyncReplicas, ['min.insync.replicas']],
};

export function brokerLayers(config: BrokerConfig, dynamic: Readonly<Record<string, Record<string, string>>>): BrokerConfigLayers {
  const staticValues: Record<string, string> = {};
  const defaults: Record<string, string> = {};
  for (const [name, [get, keys]] of Object.entries(STATIC_SETTINGS)) {
    const set = keys.some((k) => config.staticKeys.includes(k));
    (set ? staticValues : defaults)[name] = String(get(config));
  }
  return { broker: dynamic[String(config.nodeId)] ?? {}, clusterDefault: dynamic[''] ?? {}, staticValues, defaults };
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
  return {
    logConfig: {
      segmentBytes: num('segment.bytes'),
      segmentMs: num('segment.ms'),
      indexIntervalBytes: num('index.interval.bytes'),
      retentionMs: deletes ? num('retention.ms') : -1,
      retentionBytes: deletes ? num('retention.bytes') : -1,
      maxMessageBytes: num('max.message.bytes'),
      compact: policy.includes('compact'),
      deleteRetentionMs: num('delete.retention.ms'),
      minCleanableDirtyRatio: num('min.cleanable.dirty.ratio'),
      minCompactionLagMs: num('min.compaction.lag.ms'),
      maxCompactionLagMs: num('max.compaction.lag.ms'),
    },
    minIsr: num('min.insync.replicas'),
  };
}
