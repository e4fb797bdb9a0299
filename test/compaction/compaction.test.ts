// Log compaction end to end: a compacted topic with small segments gets 100,000 updates over
// 1,000 keys (a tenth of the keys deleted last, by tombstone), its active segment is rolled by
// segment.ms, and once the cleaner has been through, a consumer reads exactly one record per
// key: the latest update at the offset it was written to (the tombstone for a deleted key,
// delete.retention.ms not having passed), offsets ascending, the log far smaller.
import t from 'tap';
import { readPartition, WireClient } from '../clients/wire-client.js';
import { brokerTeardown, eventually } from '../clients/harness.js';
import { startBroker } from '../helpers/broker.js';
import { cleanings, createTopic, latestByKey, produce, rows, type Update } from './helpers.js';

const TOPIC = 'compacted';
const KEYS = 1000;
const UPDATES = 100_000;
const SEGMENT_MS = 60_000;

t.test('a compacted topic reads back one record per key, the latest', async (t) => {
  const broker = await startBroker({ overrides: { 'log.cleaner.backoff.ms': 100, 'num.partition.workers': 1 }, env: { LOG_LEVEL: 'info', LOG_FORMAT: 'json' } });
  brokerTeardown(t, broker);
  const client = await WireClient.connect(broker.port);
  t.teardown(() => client.close());
  await createTopic(client, TOPIC, {
    'cleanup.policy': 'compact',
    'segment.bytes': 64 * 1024,
    'segment.ms': SEGMENT_MS,
    'min.cleanable.dirty.ratio': 0.1,
    'delete.retention.ms': 86_400_000,
  });

  const updates: Update[] = [];
  for (let i = 0; i < UPDATES; i++) {
    const k = i % KEYS;
    const deleted = k % 10 === 0 && i >= UPDATES - KEYS;
    updates.push({ key: `key-${k}`, value: deleted ? null : `value-${k}-${i}` });
  }
  const offsets = await produce(client, TOPIC, updates);
  // An update stamped past segment.ms rolls the active segment: everything before it is cleanable.
  const [endOffset] = await produce(client, TOPIC, [{ key: 'end', value: 'end' }], { lastTimestamp: Date.now() + SEGMENT_MS + 1000 });
  await eventually('the cleaner to reach the rolled segment', () => cleanings(broker.output()).some((c) => c.nextDirtyOffset === endOffset), 40_000);

  const expected = latestByKey(updates, offsets);
  expected.set('end', { offset: endOffset!, value: 'end' });
  const read = rows((await readPartition(client, TOPIC, 0)).records);
  const wanted = [...expected].map(([key, v]) => ({ offset: v.offset, key, value: v.value })).sort((a, b) => a.offset - b.offset);
  t.equal(read.length, KEYS + 1, 'one record per key');
  t.same(read, wanted, 'each the latest update of its key (tombstones included), at its offset, in offset order');
  t.equal(read.filter((r) => r.value === null).length, KEYS / 10, 'the unexpired tombstones are kept');
  const c = cleanings(broker.output());
  t.ok(c.length >= 1 && c.reduce((n, x) => n + x.records, 0) > UPDATES * 0.9, `the cleaner went through the log (${c.length} cleanings)`);
});
