/**
 * Topic configs and the broker settings behind them, resolved as Kafka resolves them: a
 * topic's own value, else its broker synonym set for this broker, else set as the cluster
 * default, else in server.properties, else the built-in default. Dynamic values live in the
 * metadata log, so every broker resolves them alike and they survive restarts.
 *
 * Broker settings an operator may change at runtime are the topic defaults (Kafka's
 * "cluster-wide" update mode); every other setting is read-only at runtime.
 */

/** DescribeConfigs' config sources (Kafka's ConfigSource ids). */
export const ConfigSource = { TOPIC: 1, DYNAMIC_BROKER: 2, DYNAMIC_DEFAULT_BROKER: 3, STATIC_BROKER: 4, DEFAULT: 5 } as const;

/** DescribeConfigs v3+ config types. */
const CONFIG_TYPE = { bool: 1, string: 2, int: 3, long: 5, double: 6, list: 7 } as const;

type Kind = keyof typeof CONFIG_TYPE;

export interface ConfigDef {
  kind: Kind;
  min?: number;
  max?: number;
  /** Allowed values (each element of a list). */
  choices?: readonly string[];
  /** Why a value of the right kind is still not valid, or null. */
  check?: (value: string) => string | null;
}

interface BrokerDef extends ConfigDef {
  /** null: no default (Kafka's null default, e.g. log.roll.jitter.ms before it is set). */
  default: string | null;
}

/** Kafka's Long.MAX_VALUE default: for flush.messages and flush.ms, "not set". */
export const LONG_MAX = '9223372036854775807';
const COMPRESSION = ['uncompressed', 'zstd', 'lz4', 'snappy', 'gzip', 'producer'];

/** Broker settings that may be set dynamically, per broker or as the cluster default. */
export const DYNAMIC_BROKER_CONFIGS: Readonly<Record<string, BrokerDef>> = {
  'log.cleanup.policy': { kind: 'list', choices: ['compact', 'delete'], default: 'delete' },
  'compression.type': { kind: 'string', choices: COMPRESSION, default: 'producer' },
  'log.cleaner.delete.retention.ms': { kind: 'long', min: 0, default: '86400000' },
  'log.segment.delete.delay.ms': { kind: 'long', min: 0, default: '60000' },
  'log.flush.interval.messages': { kind: 'long', min: 1, default: LONG_MAX },
  'log.flush.interval.ms': { kind: 'long', min: 0, default: null },
  // Redpanda's write_caching_default under a Kafka-style name (the log.* synonym of write.caching).
  'log.write.caching': { kind: 'bool', default: 'false' },
  'log.index.interval.bytes': { kind: 'int', min: 0, default: '4096' },
  'log.cleaner.max.compaction.lag.ms': { kind: 'long', min: 1, default: LONG_MAX },
  'message.max.bytes': { kind: 'int', min: 0, default: '1048588' },
  'log.message.timestamp.type': { kind: 'string', choices: ['CreateTime', 'LogAppendTime'], default: 'CreateTime' },
  'log.message.timestamp.before.max.ms': { kind: 'long', min: 0, default: LONG_MAX },
  'log.message.timestamp.after.max.ms': { kind: 'long', min: 0, default: '3600000' },
  'log.cleaner.min.cleanable.ratio': { kind: 'double', min: 0, max: 1, default: '0.5' },
  'log.cleaner.min.compaction.lag.ms': { kind: 'long', min: 0, default: '0' },
  'min.insync.replicas': { kind: 'int', min: 1, default: '1' },
  'log.preallocate': { kind: 'bool', default: 'false' },
  'log.retention.bytes': { kind: 'long', default: '-1' },
  'log.retention.ms': { kind: 'long', min: -1, default: '604800000' },
  'log.segment.bytes': { kind: 'int', min: 1024, default: '1073741824' },
  'log.index.size.max.bytes': { kind: 'int', min: 4, default: '10485760' },
  'log.roll.jitter.ms': { kind: 'long', min: 0, default: null },
  'log.roll.ms': { kind: 'long', min: 1, default: '604800000' },
  'unclean.leader.election.enable': { kind: 'bool', default: 'false' },
  'log.local.retention.ms': { kind: 'long', min: -2, default: '-2' },
  'log.local.retention.bytes': { kind: 'long', min: -2, default: '-2' },
  // Replication throttles (bytes/s) of the replicas the topics' throttled replica lists name,
  // as Kafka's reassignment tool sets them with --throttle and clears them on --verify.
  'leader.replication.throttled.rate': { kind: 'long', min: 0, default: LONG_MAX },
  'follower.replication.throttled.rate': { kind: 'long', min: 0, default: LONG_MAX },
  'replica.alter.log.dirs.io.max.bytes.per.second': { kind: 'long', min: 0, default: LONG_MAX },
};

interface TopicDef extends ConfigDef {
  /** The broker setting that gives the default; null: the topic config has its own default. */
  synonym: string | null;
  default?: string;
}

function synonymOf(broker: string): TopicDef {
  const { default: _default, ...def } = DYNAMIC_BROKER_CONFIGS[broker]!;
  return { ...def, synonym: broker };
}

/** Configs a topic may carry, with Kafka's names. */
export const TOPIC_CONFIGS: Readonly<Record<string, TopicDef>> = {
  'cleanup.policy': synonymOf('log.cleanup.policy'),
  'compression.type': synonymOf('compression.type'),
  'delete.retention.ms': synonymOf('log.cleaner.delete.retention.ms'),
  'file.delete.delay.ms': synonymOf('log.segment.delete.delay.ms'),
  'flush.messages': synonymOf('log.flush.interval.messages'),
  'flush.ms': { ...synonymOf('log.flush.interval.ms'), default: LONG_MAX },
  'index.interval.bytes': synonymOf('log.index.interval.bytes'),
  'max.compaction.lag.ms': synonymOf('log.cleaner.max.compaction.lag.ms'),
  'max.message.bytes': synonymOf('message.max.bytes'),
  'message.timestamp.type': synonymOf('log.message.timestamp.type'),
  'message.timestamp.before.max.ms': synonymOf('log.message.timestamp.before.max.ms'),
  'message.timestamp.after.max.ms': synonymOf('log.message.timestamp.after.max.ms'),
  'min.cleanable.dirty.ratio': synonymOf('log.cleaner.min.cleanable.ratio'),
  'min.compaction.lag.ms': synonymOf('log.cleaner.min.compaction.lag.ms'),
  'min.insync.replicas': synonymOf('min.insync.replicas'),
  preallocate: synonymOf('log.preallocate'),
  'retention.bytes': synonymOf('log.retention.bytes'),
  'retention.ms': synonymOf('log.retention.ms'),
  'segment.bytes': synonymOf('log.segment.bytes'),
  'segment.index.bytes': synonymOf('log.index.size.max.bytes'),
  'segment.jitter.ms': { ...synonymOf('log.roll.jitter.ms'), default: '0' },
  'segment.ms': synonymOf('log.roll.ms'),
  'unclean.leader.election.enable': synonymOf('unclean.leader.election.enable'),
  'write.caching': synonymOf('log.write.caching'),
  'local.retention.ms': synonymOf('log.local.retention.ms'),
  'local.retention.bytes': synonymOf('log.local.retention.bytes'),
  'follower.replication.throttled.replicas': { kind: 'list', synonym: null, default: '', check: throttledReplicasError('follower.replication.throttled.replicas') },
  'leader.replication.throttled.replicas': { kind: 'list', synonym: null, default: '', check: throttledReplicasError('leader.replication.throttled.replicas') },
  'remote.storage.enable': { kind: 'bool', synonym: null, default: 'false' },
  // Removed in Kafka 4 but still sent by older tools; accepted and kept, with no effect.
  'message.timestamp.difference.max.ms': { kind: 'long', min: 0, synonym: null, default: LONG_MAX },
  'message.downconversion.enable': { kind: 'bool', synonym: null, default: 'true' },
};

/** Kafka's ThrottledReplicaListValidator: the literal "*" or partitionId:brokerId pairs. */
function throttledReplicasError(name: string): (value: string) => string | null {
  return (value) => {
    const items = value.split(',').map((s) => s.trim());
    return items.every((i) => /^(\d+:\d+)?$/.test(i)) || items.join('') === '*'
      ? null
      : `${name} must be the literal '*' or a list of replicas in the following format: [partitionId]:[brokerId],[partitionId]:[brokerId],...`;
  };
}

/**
 * The partitions of a topic whose replica on `brokerId` a throttled replica list names:
 * '*' for all of them (Kafka's ConfigHandler.parseThrottledPartitions).
 */
export function throttledPartitions(value: string, brokerId: number): '*' | Set<number> {
  if (value.trim() === '*') return '*';
  const out = new Set<number>();
  for (const item of listItems(value)) {
    const [partition, broker] = item.split(':').map(Number);
    if (broker === brokerId && Number.isInteger(partition)) out.add(partition!);
  }
  return out;
}

export function configType(def: ConfigDef | undefined): number {
  return def === undefined ? 0 : CONFIG_TYPE[def.kind];
}

/** Why `value` is not valid for a config of this definition, or null. */
export function configValueError(name: string, def: ConfigDef, value: string): string | null {
  const bad = (why: string): string => `Invalid value ${value} for configuration ${name}: ${why}`;
  const wrong = def.check?.(value);
  if (wrong) return bad(wrong);
  switch (def.kind) {
    case 'bool':
      return /^(true|false)$/i.test(value.trim()) ? null : bad('Expected value to be either true or false');
    case 'int':
    case 'long':
    case 'double': {
      const s = value.trim();
      const ok = def.kind === 'double' ? s !== '' && Number.isFinite(Number(s)) : /^-?\d+$/.test(s);
      if (!ok) return bad(`Not a number of type ${def.kind.toUpperCase()}`);
      const n = Number(s);
      if (def.kind === 'int' && (n < -2147483648 || n > 2147483647)) return bad('Not a number of type INT');
      if (def.min !== undefined && n < def.min) return bad(`Value must be at least ${def.min}`);
      if (def.max !== undefined && n > def.max) return bad(`Value must be no more than ${def.max}`);
      return null;
    }
    case 'string':
      return def.choices === undefined || def.choices.includes(value.trim()) ? null : bad(`String must be one of: ${def.choices.join(', ')}`);
    case 'list': {
      if (def.choices === undefined) return null;
      const items = listItems(value);
      if (items.length === 0) return bad('Empty list');
      const wrong = items.find((i) => !def.choices!.includes(i));
      return wrong === undefined ? null : `Invalid value ${wrong} for configuration ${name}: String must be one of: ${def.choices.join(', ')}`;
    }
  }
}

export function listItems(value: string): string[] {
  return value.split(',').map((s) => s.trim()).filter((s) => s !== '');
}

/** Where a broker's settings come from, lowest layer last. */
export interface BrokerConfigLayers {
  /** Set dynamically for this broker. */
  broker: Readonly<Record<string, string>>;
  /** Set dynamically as the cluster default. */
  clusterDefault: Readonly<Record<string, string>>;
  /** Set in server.properties or by --override (the value the broker resolved). */
  staticValues: Readonly<Record<string, string>>;
  /** Built-in defaults (the value the broker resolved when nothing was set). */
  defaults: Readonly<Record<string, string | null>>;
}

export interface ConfigSynonym { name: string; value: string | null; source: number }

export interface ResolvedConfig {
  name: string;
  value: string | null;
  source: number;
  /** Every layer that sets it, the winning one first (DescribeConfigs' synonyms). */
  synonyms: ConfigSynonym[];
}

export function resolveBrokerConfig(name: string, layers: BrokerConfigLayers): ResolvedConfig {
  const synonyms: ConfigSynonym[] = [];
  if (name in layers.broker) synonyms.push({ name, value: layers.broker[name]!, source: ConfigSource.DYNAMIC_BROKER });
  if (name in layers.clusterDefault) synonyms.push({ name, value: layers.clusterDefault[name]!, source: ConfigSource.DYNAMIC_DEFAULT_BROKER });
  if (name in layers.staticValues) synonyms.push({ name, value: layers.staticValues[name]!, source: ConfigSource.STATIC_BROKER });
  const fallback = name in layers.defaults ? layers.defaults[name]! : (DYNAMIC_BROKER_CONFIGS[name]?.default ?? null);
  synonyms.push({ name, value: fallback, source: ConfigSource.DEFAULT });
  return { name, value: synonyms[0]!.value, source: synonyms[0]!.source, synonyms };
}

export function resolveTopicConfig(name: string, topicConfigs: Readonly<Record<string, string>>, layers: BrokerConfigLayers): ResolvedConfig {
  const def = TOPIC_CONFIGS[name];
  const synonyms: ConfigSynonym[] = [];
  if (name in topicConfigs) synonyms.push({ name, value: topicConfigs[name]!, source: ConfigSource.TOPIC });
  if (def?.synonym) {
    const broker = resolveBrokerConfig(def.synonym, layers);
    // A null broker default (Kafka's "not set") leaves the topic's own default in force.
    for (const s of broker.synonyms) if (s.value !== null || def.default === undefined) synonyms.push(s);
  }
  if (def?.default !== undefined) synonyms.push({ name, value: def.default, source: ConfigSource.DEFAULT });
  const top = synonyms[0] ?? { value: null, source: ConfigSource.DEFAULT };
  return { name, value: top.value, source: top.source, synonyms };
}
