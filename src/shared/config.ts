/**
 * Broker configuration with Kafka's property names. Sources, later wins: the embedded
 * defaults, a `server.properties` file (`--config`), then `--override key=value` flags.
 * Unknown names and invalid values stop the start with an error naming each of them.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

type Kind = 'int' | 'long' | 'bool' | 'string' | 'list';

interface Setting {
  kind: Kind;
  default: string;
  doc: string;
  min?: number;
}

/** Every setting the broker reads. The README's configuration table lists these. */
export const SETTINGS: Record<string, Setting> = {
  'node.id': { kind: 'int', default: '1', doc: 'This broker\'s id in the cluster.', min: 0 },
  'process.roles': { kind: 'list', default: 'broker,controller', doc: 'Roles of this node; only combined broker,controller nodes are supported.' },
  listeners: { kind: 'list', default: 'PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093', doc: 'Listeners as NAME://host:port.' },
  'advertised.listeners': { kind: 'list', default: '', doc: 'Addresses given to clients; defaults to the client listener.' },
  'controller.listener.names': { kind: 'list', default: 'CONTROLLER', doc: 'Listener names used by the metadata quorum.' },
  'inter.broker.listener.name': { kind: 'string', default: 'PLAINTEXT', doc: 'Listener used between brokers for replication.' },
  'listener.security.protocol.map': { kind: 'list', default: 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT', doc: 'Listener name to security protocol; only PLAINTEXT is supported.' },
  'controller.quorum.voters': { kind: 'list', default: '1@127.0.0.1:9093', doc: 'Metadata quorum voters as id@host:port.' },
  'controller.quorum.election.timeout.ms': { kind: 'int', default: '1000', doc: 'Raft election timeout.', min: 10 },
  'log.dirs': { kind: 'string', default: '', doc: 'Data directory (one); overrides log.dir.' },
  'log.dir': { kind: 'string', default: './data', doc: 'Data directory.' },
  'num.partitions': { kind: 'int', default: '1', doc: 'Partitions of an auto-created topic or of CreateTopics with -1.', min: 1 },
  'default.replication.factor': { kind: 'int', default: '1', doc: 'Replication factor of topics created without one.', min: 1 },
  'min.insync.replicas': { kind: 'int', default: '1', doc: 'In-sync replicas an acks=all produce needs.', min: 1 },
  'auto.create.topics.enable': { kind: 'bool', default: 'true', doc: 'Create unknown topics on Metadata and Produce.' },
  'delete.topic.enable': { kind: 'bool', default: 'true', doc: 'Allow DeleteTopics.' },
  'num.partition.workers': { kind: 'int', default: '0', doc: 'Partition worker threads; 0 means one per available core.', min: 0 },
  'log.segment.bytes': { kind: 'int', default: '1073741824', doc: 'Segment size at which a log rolls.', min: 1024 },
  'log.roll.ms': { kind: 'long', default: '604800000', doc: 'Age at which the active segment rolls.', min: 1 },
  'log.roll.hours': { kind: 'int', default: '168', doc: 'log.roll.ms in hours (log.roll.ms wins).', min: 1 },
  'log.index.interval.bytes': { kind: 'int', default: '4096', doc: 'Bytes between offset index entries.', min: 0 },
  'log.retention.ms': { kind: 'long', default: '', doc: 'Age after which whole segments are deleted; -1 keeps forever.' },
  'log.retention.minutes': { kind: 'int', default: '', doc: 'Retention in minutes (log.retention.ms wins).' },
  'log.retention.hours': { kind: 'int', default: '168', doc: 'Retention in hours (minutes and ms win).' },
  'log.retention.bytes': { kind: 'long', default: '-1', doc: 'Size per partition past which old segments are deleted; -1 unbounded.' },
  'log.retention.check.interval.ms': { kind: 'long', default: '300000', doc: 'How often retention runs.', min: 1 },
  'message.max.bytes': { kind: 'int', default: '1048588', doc: 'Largest record batch accepted.', min: 0 },
  'connections.max.idle.ms': { kind: 'long', default: '600000', doc: 'A client connection with no request or response this long is closed; -1 never.', min: -1 },
  'socket.request.max.bytes': { kind: 'int', default: '104857600', doc: 'Largest request frame; larger ones close the connection before buffering.', min: 1 },
  'broker.session.timeout.ms': { kind: 'int', default: '9000', doc: 'A broker without heartbeats this long is fenced.', min: 1 },
  'broker.session.fast.fence.ms': { kind: 'int', default: '500', doc: 'A broker whose connection to the controller closed is fenced this long after, unless it heartbeats again.', min: 0 },
  'broker.heartbeat.interval.ms': { kind: 'int', default: '2000', doc: 'Broker heartbeat interval to the controller.', min: 1 },
  'replica.lag.time.max.ms': { kind: 'long', default: '30000', doc: 'A follower behind this long leaves the ISR.', min: 1 },
  'offsets.topic.num.partitions': { kind: 'int', default: '50', doc: 'Partitions of __consumer_offsets.', min: 1 },
  'offsets.topic.replication.factor': { kind: 'int', default: '3', doc: 'Replication factor of __consumer_offsets (capped by live brokers).', min: 1 },
  'auto.leader.rebalance.enable': { kind: 'bool', default: 'true', doc: 'Move leadership back to preferred replicas.' },
  'group.initial.rebalance.delay.ms': { kind: 'int', default: '3000', doc: 'Delay of the first rebalance of an empty group.', min: 0 },
  'cluster.id': { kind: 'string', default: '', doc: 'Cluster id; chosen by the first controller when empty.' },
};

/**
 * Kafka settings that are valid in a server.properties but have no effect here (thread pools,
 * socket buffers and flush policies belong to the JVM broker's design). They are accepted so a
 * Kafka properties file starts unchanged, and logged once as ignored.
 */
export const IGNORED_SETTINGS = new Set([
  'num.network.threads',
  'num.io.threads',
  'socket.send.buffer.bytes',
  'socket.receive.buffer.bytes',
  'num.recovery.threads.per.data.dir',
  'transaction.state.log.replication.factor',
  'transaction.state.log.min.isr',
  'log.flush.interval.messages',
  'log.flush.interval.ms',
  'share.coordinator.state.topic.replication.factor',
  'share.coordinator.state.topic.min.isr',
]);

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
  /** Client listeners (every listener not named in controller.listener.names). */
  listeners: Endpoint[];
  controllerListener: Endpoint;
  advertised: Endpoint;
  voters: Voter[];
  electionTimeoutMs: number;
  logDir: string;
  numPartitions: number;
  defaultReplicationFactor: number;
  minInsyncReplicas: number;
  autoCreateTopics: boolean;
  deleteTopicEnable: boolean;
  partitionWorkers: number;
  segmentBytes: number;
  segmentMs: number;
  indexIntervalBytes: number;
  retentionMs: number;
  retentionBytes: number;
  retentionCheckIntervalMs: number;
  messageMaxBytes: number;
  socketRequestMaxBytes: number;
  connectionsMaxIdleMs: number;
  brokerSessionTimeoutMs: number;
  brokerHeartbeatIntervalMs: number;
  brokerFastFenceMs: number;
  replicaLagTimeMaxMs: number;
  offsetsTopicPartitions: number;
  offsetsTopicReplicationFactor: number;
  autoLeaderRebalance: boolean;
  groupInitialRebalanceDelayMs: number;
  clusterId: string;
  ignored: string[];
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
}

/** Reads `--config FILE` and `--override k=v` (repeatable) from argv. */
export function parseArgs(argv: string[]): ConfigSources {
  const out: ConfigSources = { overrides: [] };
  const problems: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--config' || a === '-c') out.file = argv[++i];
    else if (a.startsWith('--config=')) out.file = a.slice('--config='.length);
    else if (a === '--override') out.overrides!.push(argv[++i] ?? '');
    else if (a.startsWith('--override=')) out.overrides!.push(a.slice('--override='.length));
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
  if (problems.length) throw new ConfigError(problems);
  return cfg;
}

function buildConfig(raw: Map<string, string>, problems: string[]): BrokerConfig {
  const ignored: string[] = [];
  for (const k of raw.keys()) {
    if (IGNORED_SETTINGS.has(k)) ignored.push(k);
    else if (!(k in SETTINGS)) problems.push(`unknown setting '${k}'`);
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
  const bool = (k: string): boolean => {
    const s = str(k).toLowerCase();
    if (s !== 'true' && s !== 'false') problems.push(`setting '${k}' must be true or false, got '${str(k)}'`);
    return s === 'true';
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
  for (const l of listeners) {
    const proto = protocolMap.get(l.name) ?? l.name;
    if (proto !== 'PLAINTEXT') problems.push(`listener ${l.name}: security protocol ${proto} is not supported (PLAINTEXT only)`);
  }
  const controllerNames = list('controller.listener.names');
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
    listeners: clientListeners,
    controllerListener: controllerListener ?? { name: 'CONTROLLER', host: '127.0.0.1', port: 9093 },
    advertised,
    voters,
    electionTimeoutMs: num('controller.quorum.election.timeout.ms'),
    logDir: has('log.dirs') ? onlyOneDir(str('log.dirs'), problems) : str('log.dir'),
    numPartitions: num('num.partitions'),
    defaultReplicationFactor: num('default.replication.factor'),
    minInsyncReplicas: num('min.insync.replicas'),
    autoCreateTopics: bool('auto.create.topics.enable'),
    deleteTopicEnable: bool('delete.topic.enable'),
    partitionWorkers: workers === 0 ? Math.max(1, availableParallelism()) : workers,
    segmentBytes: num('log.segment.bytes'),
    segmentMs,
    indexIntervalBytes: num('log.index.interval.bytes'),
    retentionMs,
    retentionBytes: num('log.retention.bytes'),
    retentionCheckIntervalMs: num('log.retention.check.interval.ms'),
    messageMaxBytes: num('message.max.bytes'),
    socketRequestMaxBytes: num('socket.request.max.bytes'),
    connectionsMaxIdleMs: num('connections.max.idle.ms'),
    brokerSessionTimeoutMs: num('broker.session.timeout.ms'),
    brokerHeartbeatIntervalMs: num('broker.heartbeat.interval.ms'),
    brokerFastFenceMs: num('broker.session.fast.fence.ms'),
    replicaLagTimeMaxMs: num('replica.lag.time.max.ms'),
    offsetsTopicPartitions: num('offsets.topic.num.partitions'),
    offsetsTopicReplicationFactor: num('offsets.topic.replication.factor'),
    autoLeaderRebalance: bool('auto.leader.rebalance.enable'),
    groupInitialRebalanceDelayMs: num('group.initial.rebalance.delay.ms'),
    clusterId: str('cluster.id'),
    ignored,
  };
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
