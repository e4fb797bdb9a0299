/**
 * The package's programmatic API: a broker in this process or in a child process
 * (`startBroker`), or a local cluster of broker processes (`startCluster`), for test suites
 * and tools that need a real Kafka-compatible broker without Docker.
 */
export { startBroker, type BrokerOptions, type ConfigValues, type RunningBroker } from './api/start-broker.js';
export { startCluster, type ClusterBroker, type ClusterOptions, type RunningCluster } from './api/start-cluster.js';
