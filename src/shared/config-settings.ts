/**
 * Every broker setting this broker knows, by Kafka's property name: its kind, default and
 * documentation (the README's table and DescribeConfigs read them), and the settings a
 * Kafka server.properties may hold that this broker accepts and ignores.
 */
import { LONG_MAX } from './dynamic-config.js';

export type Kind = 'int' | 'long' | 'double' | 'bool' | 'string' | 'list';

export interface Setting {
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
export const LISTENER_SETTINGS: Record<string, Setting> = {
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
export const JAAS_SETTING = /^(plain|scram-sha-256|scram-sha-512)\.sasl\.jaas\.config$/i;

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
  'group.consumer.migration.policy': { kind: 'string', default: 'bidirectional', doc: 'Which live groups may change protocol: bidirectional, upgrade (a classic group becomes a consumer group when a consumer-protocol member joins), downgrade (back to classic when the last one leaves), or disabled.' },
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
