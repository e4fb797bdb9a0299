/**
 * Broker configuration with Kafka's property names. Sources, later wins: the embedded
 * defaults, a `server.properties` file (`--config`), then `--override key=value` flags.
 * Unknown names and invalid values stop the start with an error naming each of them.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { LONG_MAX } from './dynamic-config.js';
import { ASSIGNORS } from './groups/consumer-assignors.js';
import { MIGRATION_POLICIES, type MigrationPolicy } from './groups/group-conversion.js';
import { IGNORED_SETTINGS, JAAS_SETTING, SETTINGS, STANDARD_AUTHORIZER } from './config-settings.js';
import {
  interBrokerSettings, isListenerSetting, listenerSecurity, listenerValue, tlsSettings, type InterBrokerSettings, type ListenerSecurity, type TlsSettings,
} from './listener-security.js';
import { defaultLogConfig, type LogConfig } from './log-config.js';
import { parseAddScram } from './add-scram.js';
import type { ScramUpsertion } from './metadata-types.js';

export interface Endpoint {
  name: string;
  host: string;
  port: number;
}

export interface Voter {
  id: number;
  host: string;
  port: number;
}

export interface BrokerConfig {
  nodeId: number;
  /** Security of each client listener, by listener name. */
  security: Record<string, ListenerSecurity>;
  /** Client listeners (every listener not named in controller.listener.names). */
  listeners: Endpoint[];
  controllerListener: Endpoint;
  advertised: Endpoint;
  /** Every client listener as clients reach it: its advertised.listeners entry, else its own address. */
  advertisedListeners: Endpoint[];
  voters: Voter[];
  electionTimeoutMs: number;
  logDir: string;
  numPartitions: number;
  defaultReplicationFactor: number;
  minInsyncReplicas: number;
  autoCreateTopics: boolean;
  deleteTopicEnable: boolean;
  partitionWorkers: number;
  /**
   * The broker's settings for every log (log.segment.bytes, log.retention.ms, message.max.bytes,
   * ...); a topic's configs and the broker's dynamic ones override them per log
   * (effective-config.ts), the flush policy and the compaction settings included.
   */
  log: LogConfig;
  /** log.flush.interval.messages and log.flush.interval.ms as given (null: not set). */
  logFlushIntervalMessages: string | null;
  logFlushIntervalMs: string | null;
  logWriteCaching: boolean;
  /** The log cleaner (log.cleaner.*). */
  cleaner: { enabled: boolean; threads: number; ioMaxBytesPerSecond: number; backoffMs: number; dedupeBufferSize: number };
  /** offsets.retention.minutes, in ms. */
  offsetsRetentionMs: number;
  offsetsRetentionCheckIntervalMs: number;
  socketRequestMaxBytes: number;
  connectionsMaxIdleMs: number;
  /** Where /metrics is served; null: not at all. */
  metricsListener: { host: string; port: number } | null;
  failedAuthenticationDelayMs: number;
  /** TLS of an SSL controller listener (mutual TLS between the voters); null for PLAINTEXT. */
  controllerTls: (TlsSettings & { verifyHostname: boolean }) | null;
  /** How this broker connects to the inter-broker listener of the others (replication). */
  interBroker: InterBrokerSettings;
  /** Null when authorizer.class.name is empty: every request is allowed. */
  authorizer: { superUsers: string[]; allowEveryoneIfNoAclFound: boolean } | null;
  /** Credentials of --add-scram, written when the metadata log is new. */
  bootstrapScram: ScramUpsertion[];
  brokerSessionTimeoutMs: number;
  brokerHeartbeatIntervalMs: number;
  brokerFastFenceMs: number;
  maxBrokerPartitions: number;
  replicaLagTimeMaxMs: number;
  highWatermarkCheckpointIntervalMs: number;
  offsetsTopicPartitions: number;
  offsetsTopicReplicationFactor: number;
  autoLeaderRebalance: boolean;
  groupInitialRebalanceDelayMs: number;
  groupConsumerSessionTimeoutMs: number;
  groupConsumerHeartbeatIntervalMs: number;
  groupConsumerAssignors: string[];
  groupConsumerMaxSize: number;
  groupConsumerMigrationPolicy: MigrationPolicy;
  txnTopicPartitions: number;
  txnTopicReplicationFactor: number;
  txnMaxTimeoutMs: number;
  txnIdExpirationMs: number;
  clusterId: string;
  ignored: string[];
  /** Settings given in the properties file or by --override (DescribeConfigs' STATIC_BROKER source). */
  staticKeys: string[];
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
  }
}

/** Parses Java-properties text: `key=value` or `key: value`, `#`/`!` comments, `\` continuations. */
export function parseProperties(text: string): Map<string, string> {
  const out = new Map<string, string>();
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!.trimStart();
    if (line === '' || line.startsWith('#') || line.startsWith('!')) continue;
    while (line.endsWith('\\') && i + 1 < lines.length) line = line.slice(0, -1) + lines[++i]!.trimStart();
    const m = /^([^=:\s]+)\s*[=:\s]\s*(.*)$/.exec(line);
    if (m) out.set(m[1]!, m[2]!.trim());
    else out.set(line.trim(), '');
  }
  return out;
}

export interface ConfigSources {
  file?: string;
  overrides?: string[];
  /** `--add-scram` values, as kafka-storage format takes them. */
  addScram?: string[];
}

/** Reads `--config FILE` and `--override k=v` (repeatable) from argv. */
export function parseArgs(argv: string[]): ConfigSources {
  const out: ConfigSources = { overrides: [], addScram: [] };
  const problems: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--config' || a === '-c') out.file = argv[++i];
    else if (a.startsWith('--config=')) out.file = a.slice('--config='.length);
    else if (a === '--override') out.overrides!.push(argv[++i] ?? '');
    else if (a.startsWith('--override=')) out.overrides!.push(a.slice('--override='.length));
    else if (a === '--add-scram' || a === '-S') out.addScram!.push(argv[++i] ?? '');
    else if (a.startsWith('--add-scram=')) out.addScram!.push(a.slice('--add-scram='.length));
    else if (out.file === undefined && !a.startsWith('-')) out.file = a;
    else problems.push(`unknown argument '${a}'`);
  }
  if (problems.length) throw new ConfigError(problems);
  return out;
}

export function loadConfig(sources: ConfigSources): BrokerConfig {
  const raw = new Map<string, string>();
  const problems: string[] = [];
  if (sources.file) {
    let text: string;
    try {
      text = readFileSync(sources.file, 'utf8');
    } catch (e) {
      throw new ConfigError([`cannot read config file '${sources.file}': ${(e as Error).message}`]);
    }
    for (const [k, v] of parseProperties(text)) raw.set(k, v);
  }
  for (const o of sources.overrides ?? []) {
    const eq = o.indexOf('=');
    if (eq <= 0) problems.push(`override '${o}' is not key=value`);
    else raw.set(o.slice(0, eq).trim(), o.slice(eq + 1).trim());
  }
  const cfg = buildConfig(raw, problems);
  for (const spec of sources.addScram ?? []) {
    try {
      cfg.bootstrapScram.push(parseAddScram(spec));
    } catch (e) {
      problems.push(`--add-scram: ${(e as Error).message}`);
    }
  }
  if (problems.length) throw new ConfigError(problems);
  return cfg;
}

function buildConfig(raw: Map<string, string>, problems: string[]): BrokerConfig {
  const ignored: string[] = [];
  for (const k of raw.keys()) {
    if (IGNORED_SETTINGS.has(k)) ignored.push(k);
    else if (!(k in SETTINGS) && !isListenerSetting(k)) problems.push(`unknown setting '${k}'`);
    else if (JAAS_SETTING.test(k)) problems.push(`setting '${k}' needs a listener prefix (listener.name.<listener>.${k})`);
  }
  const has = (k: string): boolean => raw.has(k) && raw.get(k) !== '';
  const str = (k: string): string => (raw.has(k) ? raw.get(k)! : SETTINGS[k]!.default);
  const num = (k: string): number => {
    const s = str(k);
    const spec = SETTINGS[k]!;
    if (!/^-?\d+$/.test(s)) {
      problems.push(`setting '${k}' must be an integer, got '${s}'`);
      return Number(spec.default) || 0;
    }
    const n = Number(s);
    if (spec.min !== undefined && n < spec.min && !(n === -1 && spec.min === undefined)) {
      problems.push(`setting '${k}' must be >= ${spec.min}, got ${n}`);
    }
    if (spec.kind === 'int' && (n > 2147483647 || n < -2147483648)) problems.push(`setting '${k}' is out of int range: ${n}`);
    if (!Number.isSafeInteger(n)) problems.push(`setting '${k}' is out of range: ${s}`);
    return n;
  };
  const dbl = (k: string): number => {
    const s = str(k).trim();
    const n = Number(s);
    const min = SETTINGS[k]!.min ?? -Infinity;
    if (s === '' || !Number.isFinite(n) || n < min) {
      problems.push(`setting '${k}' must be a number >= ${min}, got '${s}'`);
      return Number(SETTINGS[k]!.default);
    }
    return n;
  };
  const bool = (k: string): boolean => {
    const s = str(k).toLowerCase();
    if (s !== 'true' && s !== 'false') problems.push(`setting '${k}' must be true or false, got '${str(k)}'`);
    return s === 'true';
  };
  /** A long up to Kafka's Long.MAX_VALUE (beyond a double's exact integers), as given; null when not set. */
  const long = (k: string): string | null => {
    if (!has(k)) return null;
    const s = str(k).trim();
    const min = SETTINGS[k]!.min ?? 0;
    if (/^\d+$/.test(s) && BigInt(s) >= BigInt(min) && BigInt(s) <= BigInt(LONG_MAX)) return s;
    problems.push(`setting '${k}' must be an integer from ${min} to ${LONG_MAX}, got '${s}'`);
    return null;
  };
  const list = (k: string): string[] =>
    str(k)
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');

  const roles = list('process.roles');
  for (const r of roles) if (r !== 'broker' && r !== 'controller') problems.push(`process.roles: unknown role '${r}'`);
  if (!(roles.includes('broker') && roles.includes('controller'))) {
    problems.push(`process.roles must be 'broker,controller' (combined mode), got '${str('process.roles')}'`);
  }
  const protocolMap = new Map<string, string>();
  for (const e of list('listener.security.protocol.map')) {
    const [name, proto] = e.split(':');
    if (!name || !proto) problems.push(`listener.security.protocol.map: bad entry '${e}'`);
    else protocolMap.set(name, proto);
  }
  const listeners = list('listeners').map((l) => parseEndpoint('listeners', l, problems));
  const controllerNames = list('controller.listener.names');
  const security: Record<string, ListenerSecurity> = {};
  let controllerTls: TlsSettings | null = null;
  for (const l of listeners) {
    const proto = protocolMap.get(l.name) ?? l.name;
    if (controllerNames.includes(l.name)) {
      if (proto === 'SSL') controllerTls = tlsSettings(l.name, raw, problems);
      else if (proto !== 'PLAINTEXT') problems.push(`listener ${l.name}: the controller listener supports PLAINTEXT or SSL (mutual TLS), got ${proto}`);
      if (controllerTls !== null && controllerTls.truststoreLocation === null && controllerTls.truststoreCertificates === null) {
        problems.push(`listener ${l.name}: an SSL controller listener needs a trust store (voters authenticate each other by certificate)`);
      }
    } else if (proto === 'PLAINTEXT' || proto === 'SSL' || proto === 'SASL_PLAINTEXT' || proto === 'SASL_SSL') {
      security[l.name] = listenerSecurity(l.name, proto, raw, problems);
    } else {
      problems.push(`listener ${l.name}: security protocol ${proto} is not supported (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL)`);
    }
  }
  const controllerListener = listeners.find((l) => controllerNames.includes(l.name));
  const clientListeners = listeners.filter((l) => !controllerNames.includes(l.name));
  if (!controllerListener) problems.push(`listeners has no controller listener (controller.listener.names=${controllerNames.join(',')})`);
  if (clientListeners.length === 0) problems.push('listeners has no client listener');
  const advertisedList = list('advertised.listeners').map((l) => parseEndpoint('advertised.listeners', l, problems));
  const interName = str('inter.broker.listener.name');
  const clientDefault = clientListeners.find((l) => l.name === interName) ?? clientListeners[0];
  const advertised =
    advertisedList.find((l) => l.name === interName) ??
    advertisedList[0] ??
    (clientDefault ? { ...clientDefault, host: wildcardToLoopback(clientDefault.host) } : { name: 'PLAINTEXT', host: '127.0.0.1', port: 9092 });

  const nodeId = num('node.id');
  const voters: Voter[] = [];
  for (const v of list('controller.quorum.voters')) {
    const m = /^(\d+)@(.+):(\d+)$/.exec(v);
    if (!m) problems.push(`controller.quorum.voters: bad entry '${v}' (want id@host:port)`);
    else voters.push({ id: Number(m[1]), host: m[2]!.replace(/^\[|\]$/g, ''), port: Number(m[3]) });
  }
  // A single broker never dials another: only a cluster needs the inter-broker client.
  const interBroker = voters.length > 1
    ? interBrokerSettings(advertised.name, security[advertised.name], str('sasl.mechanism.inter.broker.protocol').trim().toUpperCase(), raw, problems)
    : { tls: null, sasl: null };
  if (voters.length > 0 && !voters.some((v) => v.id === nodeId)) {
    problems.push(`controller.quorum.voters does not include node.id ${nodeId}`);
  }

  const retentionMs = has('log.retention.ms')
    ? num('log.retention.ms')
    : has('log.retention.minutes')
      ? num('log.retention.minutes') * 60_000
      : num('log.retention.hours') * 3_600_000;
  const segmentMs = raw.has('log.roll.ms') ? num('log.roll.ms') : raw.has('log.roll.hours') ? num('log.roll.hours') * 3_600_000 : num('log.roll.ms');
  const workers = num('num.partition.workers');

  return {
    nodeId,
    security,
    listeners: clientListeners,
    controllerListener: controllerListener ?? { name: 'CONTROLLER', host: '127.0.0.1', port: 9093 },
    advertised,
    advertisedListeners: clientListeners.map((l) => advertisedList.find((a) => a.name === l.name) ?? { ...l, host: wildcardToLoopback(l.host) }),
    voters,
    electionTimeoutMs: num('controller.quorum.election.timeout.ms'),
    logDir: has('log.dirs') ? onlyOneDir(str('log.dirs'), problems) : str('log.dir'),
    numPartitions: num('num.partitions'),
    defaultReplicationFactor: num('default.replication.factor'),
    minInsyncReplicas: num('min.insync.replicas'),
    autoCreateTopics: bool('auto.create.topics.enable'),
    deleteTopicEnable: bool('delete.topic.enable'),
    partitionWorkers: workers === 0 ? Math.max(1, availableParallelism()) : workers,
    log: {
      ...defaultLogConfig,
      segmentBytes: num('log.segment.bytes'),
      zeroAheadBytes: num('log.zero.ahead.bytes'),
      segmentMs,
      indexIntervalBytes: num('log.index.interval.bytes'),
      retentionMs,
      retentionBytes: num('log.retention.bytes'),
      retentionCheckIntervalMs: num('log.retention.check.interval.ms'),
      maxMessageBytes: num('message.max.bytes'),
    },
    logFlushIntervalMessages: long('log.flush.interval.messages'),
    logFlushIntervalMs: long('log.flush.interval.ms'),
    logWriteCaching: bool('log.write.caching'),
    cleaner: {
      enabled: bool('log.cleaner.enable'),
      threads: num('log.cleaner.threads'),
      ioMaxBytesPerSecond: dbl('log.cleaner.io.max.bytes.per.second'),
      backoffMs: num('log.cleaner.backoff.ms'),
      dedupeBufferSize: num('log.cleaner.dedupe.buffer.size'),
    },
    offsetsRetentionMs: Math.round(dbl('offsets.retention.minutes') * 60_000),
    offsetsRetentionCheckIntervalMs: num('offsets.retention.check.interval.ms'),
    socketRequestMaxBytes: num('socket.request.max.bytes'),
    connectionsMaxIdleMs: num('connections.max.idle.ms'),
    metricsListener: parseMetricsListener(str('metrics.listener'), problems),
    failedAuthenticationDelayMs: num('connection.failed.authentication.delay.ms'),
    interBroker,
    controllerTls: controllerTls === null ? null : { ...controllerTls, verifyHostname: listenerValue(raw, controllerListener?.name ?? '', 'ssl.endpoint.identification.algorithm').trim().toLowerCase() === 'https' },
    authorizer: authorizerSettings(str('authorizer.class.name').trim(), str('super.users'), bool('allow.everyone.if.no.acl.found'), problems),
    bootstrapScram: [],
    brokerSessionTimeoutMs: num('broker.session.timeout.ms'),
    brokerHeartbeatIntervalMs: num('broker.heartbeat.interval.ms'),
    brokerFastFenceMs: num('broker.session.fast.fence.ms'),
    maxBrokerPartitions: num('max.broker.partitions'),
    replicaLagTimeMaxMs: num('replica.lag.time.max.ms'),
    highWatermarkCheckpointIntervalMs: num('replica.high.watermark.checkpoint.interval.ms'),
    offsetsTopicPartitions: num('offsets.topic.num.partitions'),
    offsetsTopicReplicationFactor: num('offsets.topic.replication.factor'),
    autoLeaderRebalance: bool('auto.leader.rebalance.enable'),
    groupInitialRebalanceDelayMs: num('group.initial.rebalance.delay.ms'),
    groupConsumerSessionTimeoutMs: num('group.consumer.session.timeout.ms'),
    groupConsumerHeartbeatIntervalMs: num('group.consumer.heartbeat.interval.ms'),
    groupConsumerAssignors: namesFrom(str('group.consumer.assignors'), 'group.consumer.assignors', Object.keys(ASSIGNORS), problems),
    groupConsumerMaxSize: num('group.consumer.max.size'),
    groupConsumerMigrationPolicy: migrationPolicy(str('group.consumer.migration.policy'), problems),
    txnTopicPartitions: num('transaction.state.log.num.partitions'),
    txnTopicReplicationFactor: num('transaction.state.log.replication.factor'),
    txnMaxTimeoutMs: num('transaction.max.timeout.ms'),
    txnIdExpirationMs: num('transactional.id.expiration.ms'),
    clusterId: str('cluster.id'),
    ignored,
    staticKeys: [...raw.keys()].filter(has),
  };
}

/** A comma-separated list of names, each one of `known`, at least one. */
function migrationPolicy(value: string, problems: string[]): MigrationPolicy {
  const policy = MIGRATION_POLICIES.find((p) => p === value.trim().toLowerCase());
  if (policy !== undefined) return policy;
  problems.push(`group.consumer.migration.policy: ${JSON.stringify(value)} must be one of ${MIGRATION_POLICIES.join(', ')}`);
  return 'bidirectional';
}

function namesFrom(value: string, key: string, known: string[], problems: string[]): string[] {
  const names = value.split(',').map((n) => n.trim()).filter((n) => n !== '');
  const unknown = names.filter((n) => !known.includes(n));
  if (unknown.length > 0 || names.length === 0) {
    problems.push(`${key}: ${JSON.stringify(value)} must list one or more of ${known.join(', ')}`);
    return known;
  }
  return names;
}

function authorizerSettings(className: string, superUsers: string, allowEveryone: boolean, problems: string[]): BrokerConfig['authorizer'] {
  if (className === '') return null;
  if (className !== STANDARD_AUTHORIZER) problems.push(`authorizer.class.name: only ${STANDARD_AUTHORIZER} is supported, got '${className}'`);
  const users = superUsers.split(';').map((u) => u.trim()).filter((u) => u !== '');
  for (const u of users) if (!/^[^:]+:.+$/.test(u)) problems.push(`super.users: '${u}' is not a principal (Type:name)`);
  return { superUsers: users, allowEveryoneIfNoAclFound: allowEveryone };
}

function onlyOneDir(s: string, problems: string[]): string {
  const dirs = s.split(',').map((d) => d.trim()).filter(Boolean);
  if (dirs.length > 1) problems.push(`log.dirs: only one directory is supported, got ${dirs.length}`);
  return dirs[0] ?? './data';
}

function wildcardToLoopback(host: string): string {
  return host === '' || host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
}

function parseEndpoint(setting: string, s: string, problems: string[]): Endpoint {
  const m = /^([A-Za-z0-9_]+):\/\/(\[[^\]]*\]|[^:]*):(\d+)$/.exec(s);
  if (!m) {
    problems.push(`${setting}: bad listener '${s}' (want NAME://host:port)`);
    return { name: 'INVALID', host: '', port: 0 };
  }
  const port = Number(m[3]);
  if (port > 65535) problems.push(`${setting}: port out of range in '${s}'`);
  return { name: m[1]!, host: m[2]!.replace(/^\[|\]$/g, ''), port };
}

function parseMetricsListener(v: string, problems: string[]): { host: string; port: number } | null {
  if (v === 'none' || v === '') return null;
  const m = /^http:\/\/(\[[^\]]+\]|[^:/]+):(\d+)\/?$/.exec(v);
  if (!m || Number(m[2]) > 65535) {
    problems.push(`metrics.listener: '${v}' is not http://host:port or none`);
    return null;
  }
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]) };
}
