/**
 * Broker configuration with Kafka's property names. Sources, later wins: the embedded
 * defaults, a `server.properties` file (`--config`), then `--override key=value` flags.
 * Unknown names and invalid values stop the start with an error naming each of them.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { randomBytes } from 'node:crypto';
import { LONG_MAX } from './dynamic-config.js';
import { ASSIGNORS } from './groups/consumer-assignors.js';
import { STORE_TYPES, type StoreType } from './key-store.js';
import { defaultLogConfig, type LogConfig } from './log-config.js';
import type { ScramUpsertion } from './metadata-types.js';
import { principalRulesError } from './principal-mapping.js';
import {
  credentialFromPassword, credentialFromSalted, MAX_ITERATIONS, MIN_ITERATIONS, SCRAM_MECHANISM_CODES, type ScramMechanism,
} from './scram.js';

type Kind = 'int' | 'long' | 'double' | 'bool' | 'string' | 'list';

interface Setting {
  kind: Kind;
  default: string;
  doc: string;
  min?: number;
}

/**
 * Settings a listener may override with Kafka's `listener.name.<name>.` prefix (the name in
 * lower case, e.g. `listener.name.secure.ssl.client.auth`); without the prefix they apply to
 * every listener.
 */
const LISTENER_SETTINGS: Record<string, Setting> = {
  'ssl.keystore.type': { kind: 'string', default: 'PEM', doc: 'Format of the key store: PEM, PKCS12 or JKS (Kafka\'s default is JKS: set it for a .jks file). PKCS12 and JKS each read the other as well, as Java\'s key stores do.' },
  'ssl.keystore.location': { kind: 'string', default: '', doc: 'Key store file of TLS listeners: PEM text with the private key and the certificate chain, or a PKCS12 or JKS store (its first private key and that key\'s chain).' },
  'ssl.keystore.certificate.chain': { kind: 'string', default: '', doc: 'The certificate chain in PEM, inline (instead of ssl.keystore.location).' },
  'ssl.keystore.key': { kind: 'string', default: '', doc: 'The private key in PEM, inline (instead of ssl.keystore.location).' },
  'ssl.keystore.password': { kind: 'string', default: '', doc: 'Password of a PKCS12 or JKS key store (required for them); PEM key stores have none (see ssl.key.password).' },
  'ssl.key.password': { kind: 'string', default: '', doc: 'Password of the private key: an encrypted PEM key, or a key inside a PKCS12 or JKS store (default there: ssl.keystore.password).' },
  'ssl.truststore.type': { kind: 'string', default: 'PEM', doc: 'Format of the trust store: PEM, PKCS12 or JKS (Kafka\'s default is JKS: set it for a .jks file).' },
  'ssl.truststore.location': { kind: 'string', default: '', doc: 'Trust store file: the CA certificates (PEM text, or the certificates of a PKCS12 store, or the trusted entries of a JKS store) that client certificates must chain to.' },
  'ssl.truststore.certificates': { kind: 'string', default: '', doc: 'The trusted CA certificates in PEM, inline (instead of ssl.truststore.location).' },
  'ssl.truststore.password': { kind: 'string', default: '', doc: 'Password of a PKCS12 or JKS trust store; PEM trust stores have none. A JKS store without it is read unchecked, as Java does.' },
  'ssl.client.auth': { kind: 'string', default: 'none', doc: 'Client certificates on TLS listeners: required, requested or none.' },
  'ssl.enabled.protocols': { kind: 'list', default: 'TLSv1.2,TLSv1.3', doc: 'TLS versions accepted (TLSv1.2, TLSv1.3).' },
  'ssl.protocol': { kind: 'string', default: 'TLSv1.3', doc: 'Accepted for Kafka compatibility; ssl.enabled.protocols decides.' },
  'ssl.endpoint.identification.algorithm': { kind: 'string', default: 'https', doc: 'https: a broker connecting to another checks that its certificate names the host; empty: no check.' },
  'ssl.principal.mapping.rules': { kind: 'string', default: 'DEFAULT', doc: 'Rules mapping a client certificate\'s subject to a user name (RULE:pattern/replacement/[LU], DEFAULT).' },
  'sasl.enabled.mechanisms': { kind: 'list', default: 'PLAIN,SCRAM-SHA-256,SCRAM-SHA-512', doc: 'SASL mechanisms of SASL listeners: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512.' },
  'connections.max.reauth.ms': { kind: 'long', default: '0', doc: 'A SASL session lasts this long, then the client must re-authenticate (KIP-368); 0 forever.', min: 0 },
};

/**
 * Per-listener, per-mechanism JAAS settings, e.g. `listener.name.sasl_ssl.plain.sasl.jaas.config`:
 * for PLAIN its `user_<name>="<password>"` entries are the users of that listener.
 */
const JAAS_SETTING = /^(plain|scram-sha-256|scram-sha-512)\.sasl\.jaas\.config$/i;

/** The authorizer Kafka's KRaft brokers use; the one this broker implements. */
export const STANDARD_AUTHORIZER = 'org.apache.kafka.metadata.authorizer.StandardAuthorizer';

/** Every setting the broker reads. The README's configuration table lists these. */
export const SETTINGS: Record<string, Setting> = {
  'node.id': { kind: 'int', default: '1', doc: 'This broker\'s id in the cluster.', min: 0 },
  'process.roles': { kind: 'list', default: 'broker,controller', doc: 'Roles of this node; only combined broker,controller nodes are supported.' },
  listeners: { kind: 'list', default: 'PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093', doc: 'Listeners as NAME://host:port.' },
  'advertised.listeners': { kind: 'list', default: '', doc: 'Addresses given to clients, one per client listener (NAME://host:port); a client is given the addresses of the listener it connected to. A listener not named here is advertised at its own address.' },
  'controller.listener.names': { kind: 'list', default: 'CONTROLLER', doc: 'Listener names used by the metadata quorum.' },
  'inter.broker.listener.name': { kind: 'string', default: 'PLAINTEXT', doc: 'Listener used between brokers for replication.' },
  'listener.security.protocol.map': { kind: 'list', default: 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT', doc: 'Listener name to security protocol: PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL (the controller listener: PLAINTEXT or SSL).' },
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
  'log.zero.ahead.bytes': { kind: 'int', default: '1048576', doc: 'Zeros written past the active segment\'s end, so that an fdatasync flushes data only and never a file size change; 0 turns it off (on copy-on-write file systems it saves nothing).', min: 0 },
  'log.roll.ms': { kind: 'long', default: '604800000', doc: 'Age at which the active segment rolls.', min: 1 },
  'log.roll.hours': { kind: 'int', default: '168', doc: 'log.roll.ms in hours (log.roll.ms wins).', min: 1 },
  'log.index.interval.bytes': { kind: 'int', default: '4096', doc: 'Bytes between offset index entries.', min: 0 },
  'log.retention.ms': { kind: 'long', default: '', doc: 'Age after which whole segments are deleted; -1 keeps forever.' },
  'log.retention.minutes': { kind: 'int', default: '', doc: 'Retention in minutes (log.retention.ms wins).' },
  'log.retention.hours': { kind: 'int', default: '168', doc: 'Retention in hours (minutes and ms win).' },
  'log.retention.bytes': { kind: 'long', default: '-1', doc: 'Size per partition past which old segments are deleted; -1 unbounded.' },
  'log.retention.check.interval.ms': { kind: 'long', default: '300000', doc: 'How often retention runs.', min: 1 },
  'log.flush.interval.messages': { kind: 'long', default: LONG_MAX, doc: 'Records written to a log and not yet fsynced that start an fsync; set, acks answer before the fsync (see Durability).', min: 1 },
  'log.flush.interval.ms': { kind: 'long', default: '', doc: 'The longest a written record waits for its fsync; set, acks answer before the fsync (see Durability).', min: 0 },
  'log.write.caching': { kind: 'bool', default: 'false', doc: 'Default of the write.caching topic config: acks answer once the in-sync replicas have the batch in the page cache (see Durability).' },
  'message.max.bytes': { kind: 'int', default: '1048588', doc: 'Largest record batch accepted.', min: 0 },
  'log.cleaner.enable': { kind: 'bool', default: 'true', doc: 'Run the log cleaner, which compacts topics with cleanup.policy=compact.' },
  'log.cleaner.threads': { kind: 'int', default: '1', doc: 'Threads of the log cleaner\'s pool.', min: 1 },
  'log.cleaner.io.max.bytes.per.second': { kind: 'double', default: '1.7976931348623157E308', doc: 'Bytes per second the log cleaner may read and write, all its threads together.', min: 1 },
  'log.cleaner.backoff.ms': { kind: 'long', default: '15000', doc: 'How often each partition worker looks for a log to clean.', min: 1 },
  'log.cleaner.dedupe.buffer.size': { kind: 'long', default: '134217728', doc: 'Memory for the keys of one cleaning (a bigger dirty section is cleaned in several rounds).', min: 1024 },
  'metrics.listener': { kind: 'string', default: 'http://127.0.0.1:9644', doc: 'Prometheus metrics at /metrics on this http://host:port; none turns it off.' },
  'connections.max.idle.ms': { kind: 'long', default: '600000', doc: 'A client connection with no request or response this long is closed; -1 never.', min: -1 },
  'socket.request.max.bytes': { kind: 'int', default: '104857600', doc: 'Largest request frame; larger ones close the connection before buffering.', min: 1 },
  'broker.session.timeout.ms': { kind: 'int', default: '9000', doc: 'A broker without heartbeats this long is fenced.', min: 1 },
  'max.broker.partitions': { kind: 'int', default: '30000', doc: 'Partition replicas one broker may host; creating more is refused with POLICY_VIOLATION.', min: 1 },
  'broker.session.fast.fence.ms': { kind: 'int', default: '500', doc: 'A broker whose connection to the controller closed is fenced this long after, unless it heartbeats again.', min: 0 },
  'broker.heartbeat.interval.ms': { kind: 'int', default: '2000', doc: 'Broker heartbeat interval to the controller.', min: 1 },
  'replica.lag.time.max.ms': { kind: 'long', default: '30000', doc: 'A follower behind this long leaves the ISR.', min: 1 },
  'replica.high.watermark.checkpoint.interval.ms': { kind: 'long', default: '5000', doc: 'The frequency with which the high watermark is saved out to disk.', min: 1 },
  'offsets.topic.num.partitions': { kind: 'int', default: '50', doc: 'Partitions of __consumer_offsets.', min: 1 },
  'offsets.topic.replication.factor': { kind: 'int', default: '3', doc: 'Replication factor of __consumer_offsets (capped by live brokers).', min: 1 },
  'offsets.retention.minutes': { kind: 'double', default: '10080', doc: 'Committed offsets of a group left empty this long (a group-less consumer\'s: since their commit) are deleted; decimals allowed.', min: 0 },
  'offsets.retention.check.interval.ms': { kind: 'long', default: '600000', doc: 'How often expired committed offsets are looked for.', min: 1 },
  'auto.leader.rebalance.enable': { kind: 'bool', default: 'true', doc: 'Move leadership back to preferred replicas.' },
  'transaction.state.log.num.partitions': { kind: 'int', default: '50', doc: 'Partitions of __transaction_state.', min: 1 },
  'transaction.state.log.replication.factor': { kind: 'int', default: '3', doc: 'Replication factor of __transaction_state (capped by live brokers).', min: 1 },
  'transactional.id.expiration.ms': { kind: 'int', default: '604800000', doc: 'A transactional id with no transaction for this long is forgotten.', min: 1 },
  'transaction.max.timeout.ms': { kind: 'int', default: '900000', doc: 'The longest transaction.timeout.ms a producer may ask for.', min: 1 },
  'group.initial.rebalance.delay.ms': { kind: 'int', default: '3000', doc: 'Delay of the first rebalance of an empty group.', min: 0 },
  'group.consumer.session.timeout.ms': { kind: 'int', default: '45000', doc: 'A consumer-protocol group member without a heartbeat this long is removed.', min: 1 },
  'group.consumer.heartbeat.interval.ms': { kind: 'int', default: '5000', doc: 'How often consumer-protocol group members are told to heartbeat.', min: 1 },
  'group.consumer.assignors': { kind: 'string', default: 'uniform,range', doc: 'Server-side assignors of consumer-protocol groups (uniform, range), comma-separated; the first is the default.' },
  'group.consumer.max.size': { kind: 'int', default: '2147483647', doc: 'Most members a consumer-protocol group may have.', min: 1 },
  'cluster.id': { kind: 'string', default: '', doc: 'Cluster id; chosen by the first controller when empty.' },
  'authorizer.class.name': { kind: 'string', default: '', doc: `Set to ${STANDARD_AUTHORIZER} to check every request against the ACLs; empty: no authorization.` },
  'super.users': { kind: 'string', default: '', doc: 'Principals allowed everything, separated by ";" (e.g. User:admin;User:CN=broker1).' },
  'allow.everyone.if.no.acl.found': { kind: 'bool', default: 'false', doc: 'Allow an action on a resource no ACL names at all.' },
  'sasl.mechanism.inter.broker.protocol': { kind: 'string', default: 'PLAIN', doc: 'SASL mechanism a broker logs in to another with, on a SASL inter-broker listener (credentials: username and password of that listener\'s JAAS setting for the mechanism).' },
  'connection.failed.authentication.delay.ms': { kind: 'int', default: '100', doc: 'A failed SASL login is answered, and its connection closed, after this delay.', min: 0 },
  ...LISTENER_SETTINGS,
};

/**
 * Kafka settings that are valid in a server.properties but have no effect here (thread pools
 * and socket buffers belong to the JVM broker's design). They are accepted so a
 * Kafka properties file starts unchanged, and logged once as ignored.
 */
export const IGNORED_SETTINGS = new Set([
  'num.network.threads',
  'num.io.threads',
  'socket.send.buffer.bytes',
  'socket.receive.buffer.bytes',
  'num.recovery.threads.per.data.dir',
  'transaction.state.log.min.isr',
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

export type SecurityProtocol = 'PLAINTEXT' | 'SSL' | 'SASL_PLAINTEXT' | 'SASL_SSL';

export const SASL_MECHANISMS = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'] as const;
export type SaslMechanism = (typeof SASL_MECHANISMS)[number];

export interface SaslSettings {
  mechanisms: SaslMechanism[];
  /** PLAIN users and passwords, from the listener's plain.sasl.jaas.config. */
  plainUsers: Record<string, string>;
  /** connections.max.reauth.ms; 0: sessions do not expire. */
  reauthMs: number;
}

export type ClientAuth = 'required' | 'requested' | 'none';

/** Where a TLS endpoint's key and trusted certificates come from (read at start and on reload). */
export interface KeyStoreSettings {
  keystoreType: StoreType;
  /** A file holding key and chain, or null when both are inline (PEM). */
  keystoreLocation: string | null;
  certificateChain: string | null;
  key: string | null;
  keystorePassword: string | null;
  keyPassword: string | null;
  truststoreType: StoreType;
  truststoreLocation: string | null;
  truststoreCertificates: string | null;
  truststorePassword: string | null;
}

/** A TLS listener's key material and policy. */
export interface TlsSettings extends KeyStoreSettings {
  clientAuth: ClientAuth;
  /** Node's names: 'TLSv1.2', 'TLSv1.3'. */
  protocols: string[];
  principalMappingRules: string;
}

/** Files and credentials of the inter-broker client; the files are read at start. */
export interface InterBrokerSettings {
  tls: (KeyStoreSettings & { verifyHostname: boolean }) | null;
  sasl: { mechanism: SaslMechanism; username: string; password: string } | null;
}

export interface ListenerSecurity {
  protocol: SecurityProtocol;
  /** Present for SSL and SASL_SSL listeners. */
  tls: TlsSettings | null;
  /** Present for SASL_PLAINTEXT and SASL_SSL listeners. */
  sasl: SaslSettings | null;
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
function namesFrom(value: string, key: string, known: string[], problems: string[]): string[] {
  const names = value.split(',').map((n) => n.trim()).filter((n) => n !== '');
  const unknown = names.filter((n) => !known.includes(n));
  if (unknown.length > 0 || names.length === 0) {
    problems.push(`${key}: ${JSON.stringify(value)} must list one or more of ${known.join(', ')}`);
    return known;
  }
  return names;
}

const LISTENER_PREFIX = /^listener\.name\.([a-z0-9_]+)\.(.+)$/i;

function isListenerSetting(key: string): boolean {
  const m = LISTENER_PREFIX.exec(key);
  return m !== null && (m[2]! in LISTENER_SETTINGS || JAAS_SETTING.test(m[2]!));
}

/** A listener's value of a per-listener setting: its prefixed override, else the plain one. */
function listenerValue(raw: Map<string, string>, listener: string, key: string): string {
  const prefixed = `listener.name.${listener.toLowerCase()}.${key}`;
  for (const [k, v] of raw) if (k.toLowerCase() === prefixed) return v;
  return raw.get(key) ?? LISTENER_SETTINGS[key]!.default;
}

const TLS_VERSIONS = new Set(['TLSv1.2', 'TLSv1.3']);

function listenerSecurity(name: string, protocol: SecurityProtocol, raw: Map<string, string>, problems: string[]): ListenerSecurity {
  const tls = protocol === 'SSL' || protocol === 'SASL_SSL' ? tlsSettings(name, raw, problems) : null;
  const sasl = protocol === 'SASL_PLAINTEXT' || protocol === 'SASL_SSL' ? saslSettings(name, raw, problems) : null;
  return { protocol, tls, sasl };
}

function saslSettings(name: string, raw: Map<string, string>, problems: string[]): SaslSettings {
  const where = `listener ${name}`;
  const mechanisms: SaslMechanism[] = [];
  for (const m of listenerValue(raw, name, 'sasl.enabled.mechanisms').split(',').map((s) => s.trim().toUpperCase()).filter(Boolean)) {
    if ((SASL_MECHANISMS as readonly string[]).includes(m)) mechanisms.push(m as SaslMechanism);
    else problems.push(`${where}: SASL mechanism ${m} is not supported (${SASL_MECHANISMS.join(', ')})`);
  }
  if (mechanisms.length === 0) problems.push(`${where}: sasl.enabled.mechanisms lists no mechanism`);
  const plainUsers: Record<string, string> = {};
  const jaasKey = `listener.name.${name.toLowerCase()}.plain.sasl.jaas.config`;
  for (const [k, v] of raw) {
    if (k.toLowerCase() !== jaasKey) continue;
    try {
      const jaas = parseJaas(v);
      if (jaas.loginModule !== 'org.apache.kafka.common.security.plain.PlainLoginModule') {
        problems.push(`${jaasKey}: login module ${jaas.loginModule} is not PlainLoginModule`);
      }
      for (const [option, value] of Object.entries(jaas.options)) if (option.startsWith('user_')) plainUsers[option.slice(5)] = value;
    } catch (e) {
      problems.push(`${jaasKey}: ${(e as Error).message}`);
    }
  }
  const reauth = listenerValue(raw, name, 'connections.max.reauth.ms').trim();
  if (!/^\d+$/.test(reauth)) problems.push(`${where}: connections.max.reauth.ms must be a non-negative integer, got '${reauth}'`);
  return { mechanisms, plainUsers, reauthMs: Number(reauth) || 0 };
}

/**
 * One JAAS login module entry as Kafka's sasl.jaas.config holds it:
 * `<class> required|requisite|sufficient|optional key="value" ... ;`
 */
export function parseJaas(text: string): { loginModule: string; options: Record<string, string> } {
  const m = /^\s*([\w.$]+)\s+(required|requisite|sufficient|optional)\s*([\s\S]*?)\s*;\s*$/.exec(text);
  if (!m) throw new Error('not a JAAS entry (<LoginModule class> required key="value" ... ;)');
  const options: Record<string, string> = {};
  const re = /\s*([^\s=]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s"]+))/y;
  let rest = m[3]!;
  while (rest.trim() !== '') {
    re.lastIndex = 0;
    const o = re.exec(rest);
    if (!o) throw new Error(`malformed option at character ${m[3]!.length - rest.length}`);
    options[o[1]!] = o[2] !== undefined ? o[2].replace(/\\(.)/g, '$1') : o[3]!;
    rest = rest.slice(re.lastIndex);
  }
  return { loginModule: m[1]!, options };
}

/**
 * One `--add-scram` value, as `kafka-storage format --add-scram` takes it:
 * `SCRAM-SHA-256=[name=admin,password=admin-secret]`, optionally with `iterations=` and
 * `salt=` (base64), or `saltedpassword=` (base64) with `salt=` instead of the password.
 */
export function parseAddScram(spec: string): ScramUpsertion {
  const m = /^(SCRAM-SHA-256|SCRAM-SHA-512)=\[(.*)\]$/.exec(spec.trim());
  if (!m) throw new Error(`'${spec.replace(/password=[^,\]]*/gi, 'password=***')}' is not SCRAM-SHA-256=[name=...,password=...] or SCRAM-SHA-512=[...]`);
  const mechanism = m[1] as ScramMechanism;
  const fields: Record<string, string> = {};
  for (const part of m[2]!.match(/[^,=]+=("[^"]*"|[^,]*)/g) ?? []) {
    const eq = part.indexOf('=');
    fields[part.slice(0, eq).trim().toLowerCase()] = part.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1');
  }
  const name = fields.name;
  if (!name) throw new Error(`${mechanism}: name= is missing`);
  const iterations = fields.iterations !== undefined ? Number(fields.iterations) : MIN_ITERATIONS;
  if (!Number.isInteger(iterations) || iterations < MIN_ITERATIONS || iterations > MAX_ITERATIONS) {
    throw new Error(`${mechanism} ${name}: iterations must be ${MIN_ITERATIONS}..${MAX_ITERATIONS}`);
  }
  const salt = fields.salt !== undefined ? Buffer.from(fields.salt, 'base64') : randomBytes(32);
  let credential;
  if (fields.saltedpassword !== undefined) {
    if (fields.salt === undefined) throw new Error(`${mechanism} ${name}: saltedpassword= needs salt=`);
    credential = credentialFromSalted(mechanism, Buffer.from(fields.saltedpassword, 'base64'), salt, iterations);
  } else if (fields.password !== undefined) {
    credential = credentialFromPassword(mechanism, fields.password, salt, iterations);
  } else {
    throw new Error(`${mechanism} ${name}: password= (or saltedpassword= with salt=) is missing`);
  }
  return {
    user: name,
    mechanism: SCRAM_MECHANISM_CODES[mechanism],
    salt: credential.salt.toString('hex'),
    storedKey: credential.storedKey.toString('hex'),
    serverKey: credential.serverKey.toString('hex'),
    iterations,
  };
}

function tlsSettings(name: string, raw: Map<string, string>, problems: string[]): TlsSettings {
  const get = (k: string): string => listenerValue(raw, name, k).trim();
  const orNull = (k: string): string | null => (get(k) === '' ? null : get(k));
  const where = `listener ${name}`;
  const storeType = (k: string): StoreType => {
    const t = get(k).toUpperCase();
    if ((STORE_TYPES as readonly string[]).includes(t)) return t as StoreType;
    problems.push(`${where}: ${k}=${get(k)} is not supported (PEM, PKCS12 or JKS)`);
    return 'PEM';
  };
  const tls: TlsSettings = {
    keystoreType: storeType('ssl.keystore.type'),
    keystoreLocation: orNull('ssl.keystore.location'),
    certificateChain: orNull('ssl.keystore.certificate.chain'),
    key: orNull('ssl.keystore.key'),
    keystorePassword: orNull('ssl.keystore.password'),
    keyPassword: orNull('ssl.key.password'),
    truststoreType: storeType('ssl.truststore.type'),
    truststoreLocation: orNull('ssl.truststore.location'),
    truststoreCertificates: orNull('ssl.truststore.certificates'),
    truststorePassword: orNull('ssl.truststore.password'),
    clientAuth: get('ssl.client.auth').toLowerCase() as ClientAuth,
    protocols: get('ssl.enabled.protocols').split(',').map((p) => p.trim()).filter((p) => p !== ''),
    principalMappingRules: get('ssl.principal.mapping.rules'),
  };
  if (tls.keystoreLocation === null && (tls.certificateChain === null || tls.key === null)) {
    problems.push(`${where}: SSL needs ssl.keystore.location, or ssl.keystore.certificate.chain and ssl.keystore.key`);
  }
  if (tls.keystoreType !== 'PEM' && tls.keystoreLocation === null) {
    problems.push(`${where}: ssl.keystore.type=${tls.keystoreType} needs ssl.keystore.location (inline key stores are PEM only)`);
  }
  if (tls.keystoreType !== 'PEM' && tls.keystorePassword === null) {
    problems.push(`${where}: ssl.keystore.type=${tls.keystoreType} needs ssl.keystore.password`);
  }
  if (tls.truststoreType !== 'PEM' && tls.truststoreCertificates !== null) {
    problems.push(`${where}: ssl.truststore.certificates is PEM text, but ssl.truststore.type=${tls.truststoreType}`);
  }
  if (!['required', 'requested', 'none'].includes(tls.clientAuth)) {
    problems.push(`${where}: ssl.client.auth must be required, requested or none, got '${get('ssl.client.auth')}'`);
  }
  if (tls.clientAuth !== 'none' && tls.truststoreLocation === null && tls.truststoreCertificates === null) {
    problems.push(`${where}: ssl.client.auth=${tls.clientAuth} needs ssl.truststore.location or ssl.truststore.certificates`);
  }
  const unknown = tls.protocols.filter((p) => !TLS_VERSIONS.has(p));
  if (unknown.length > 0 || tls.protocols.length === 0) {
    problems.push(`${where}: ssl.enabled.protocols must list TLSv1.2 and/or TLSv1.3, got '${get('ssl.enabled.protocols')}'`);
  }
  const rulesError = principalRulesError(tls.principalMappingRules);
  if (rulesError !== null) problems.push(`${where}: ssl.principal.mapping.rules: ${rulesError}`);
  return tls;
}

/**
 * The client side of the inter-broker listener (followers fetch from their leader's advertised
 * listener): its trust store and key store for TLS, and for SASL the mechanism of
 * sasl.mechanism.inter.broker.protocol with the username and password of that listener's
 * JAAS setting for it, as Kafka's brokers take them.
 */
function interBrokerSettings(name: string, sec: ListenerSecurity | undefined, mechanism: string, raw: Map<string, string>, problems: string[]): InterBrokerSettings {
  if (sec === undefined) return { tls: null, sasl: null };
  const t = sec.tls;
  const tls = t === null ? null : {
    keystoreType: t.keystoreType, keystoreLocation: t.keystoreLocation, certificateChain: t.certificateChain, key: t.key,
    keystorePassword: t.keystorePassword, keyPassword: t.keyPassword, truststoreType: t.truststoreType,
    truststoreLocation: t.truststoreLocation, truststoreCertificates: t.truststoreCertificates, truststorePassword: t.truststorePassword,
    verifyHostname: listenerValue(raw, name, 'ssl.endpoint.identification.algorithm').trim().toLowerCase() === 'https',
  };
  if (sec.sasl === null) return { tls, sasl: null };
  if (!sec.sasl.mechanisms.includes(mechanism as SaslMechanism)) {
    problems.push(`sasl.mechanism.inter.broker.protocol: ${mechanism} is not enabled on the inter-broker listener ${name}`);
    return { tls, sasl: null };
  }
  const key = `listener.name.${name.toLowerCase()}.${mechanism.toLowerCase()}.sasl.jaas.config`;
  const text = [...raw].find(([k]) => k.toLowerCase() === key)?.[1];
  let options: Record<string, string> = {};
  try {
    options = text === undefined ? {} : parseJaas(text).options;
  } catch (e) {
    problems.push(`${key}: ${(e as Error).message}`);
  }
  if (options.username === undefined || options.password === undefined) {
    problems.push(`${key}: username and password are needed for brokers to log in to each other with ${mechanism}`);
    return { tls, sasl: null };
  }
  return { tls, sasl: { mechanism: mechanism as SaslMechanism, username: options.username, password: options.password } };
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
