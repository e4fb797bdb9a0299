#!/usr/bin/env node
/**
 * Writes the README's table of every metric served at /metrics, between the
 * `<!-- metrics-table -->` markers, from the broker's own registry (dist/, so build first):
 * `node tools/metrics-table.mjs`. `--check` only compares and exits 1 when the README differs.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const START = '<!-- metrics-table -->';
const END = '<!-- /metrics-table -->';

/** The table, one row per metric the registry serves, in registration order. */
export async function metricsTable() {
  const { metricsRegistry } = await import(path.join(root, 'dist/main/metrics-server.js'));
  const { MetadataCache } = await import(path.join(root, 'dist/main/metadata-cache.js'));
  const { RequestMetrics } = await import(path.join(root, 'dist/main/request-metrics.js'));
  const { TopicMetrics } = await import(path.join(root, 'dist/main/topic-metrics.js'));
  const { threadStatsLayout } = await import(path.join(root, 'dist/shared/metrics/thread-stats.js'));
  const { partitionStatsBuffer } = await import(path.join(root, 'dist/shared/metrics/partition-stats.js'));
  const { raftStatsBuffer } = await import(path.join(root, 'dist/shared/metrics/raft-stats.js'));
  const { ReplicationThrottles } = await import(path.join(root, 'dist/main/replication-throttles.js'));
  const registry = metricsRegistry({
    nodeId: 1,
    requests: new RequestMetrics(),
    threads: threadStatsLayout(['main']),
    topics: new TopicMetrics(),
    partitions: partitionStatsBuffer(1),
    rings: [],
    raft: raftStatsBuffer(),
    replicationQuotas: new ReplicationThrottles(1),
    metadata: new MetadataCache(1),
    groupStates: () => [],
    ready: () => true,
  });
  const rows = registry.getMetricsAsArray().map((m) => `| \`${m.name}\` | ${m.type} | ${m.help.replace(/\|/g, '\\|')} |`);
  return ['| metric | type | meaning |', '|---|---|---|', ...rows].join('\n');
}

export function withTable(readme, table) {
  const a = readme.indexOf(START);
  const b = readme.indexOf(END);
  if (a < 0 || b < a) throw new Error(`README.md has no ${START} ... ${END} section`);
  return `${readme.slice(0, a + START.length)}\n${table}\n${readme.slice(b)}`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const file = path.join(root, 'README.md');
  const readme = readFileSync(file, 'utf8');
  const next = withTable(readme, await metricsTable());
  if (process.argv.includes('--check')) {
    if (next !== readme) {
      process.stderr.write('README.md metrics table is out of date: run node tools/metrics-table.mjs\n');
      process.exit(1);
    }
  } else {
    writeFileSync(file, next);
  }
}
