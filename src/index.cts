/**
 * The CommonJS entry (`require('kafka-ts-broker')`): the same API, loaded from the ES module
 * on first call, as every function of it returns a promise anyway.
 */
import type * as Api from './index.js';

export type { BrokerOptions, ClusterBroker, ClusterOptions, ConfigValues, RunningBroker, RunningCluster } from './index.js';

const api = (): Promise<typeof Api> => import('./index.js');

export const startBroker: typeof Api.startBroker = (opts) => api().then((m) => m.startBroker(opts));
export const startCluster: typeof Api.startCluster = (opts) => api().then((m) => m.startCluster(opts));
