// The log cleaner killed at any point: twenty times, a compacted topic gets a round of updates
// (acks=all), its active segment is rolled, and the broker is SIGKILLed while the cleaner works
// on it: while the pool writes the cleaned segments, while they are swapped in, or just after.
// After each restart the partition reads back whole, offsets ascending, and every key's latest
// acknowledged update is there at its offset: compaction lost nothing it had to keep.
import { readdirSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { readPartition, WireClient } from '../clients/wire-client.js';
import { brokerTeardown } from '../clients/harness.js';
import { startBroker } from '../helpers/broker.js';
import { createTopic, latestByKey, produce, rows, type Update } from './helpers.js';

const TOPIC = 'crashing';
const ROUNDS = 20;
const KEYS = 100;
const UPDATES_PER_ROUND = 1000;
const SEGMENT_MS = 60_000;

/** Polls `check` every few milliseconds (a cleaning's steps are short) until it holds. */
async function soon(what: string, check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

t.test('a broker killed during cleaning loses no record compaction keeps', async (t) => {
  const broker = await startBroker({
    overrides: { 'log.cleaner.backoff.ms': 50, 'num.partition.workers': 1, 'log.cleaner.io.max.bytes.per.second': 400_000 },
    env: { LOG_LEVEL: 'info', LOG_FORMAT: 'json' },
  });
  brokerTeardown(t, broker);
  const dir = path.join(broker.dataDir, `${TOPIC}-0`);
  let client = await WireClient.connect(broker.port);
  await createTopic(client, TOPIC, { 'cleanup.policy': 'compact', 'segment.bytes': 16 * 1024, 'segment.ms': SEGMENT_MS, 'min.cleanable.dirty.ratio': 0.01 });

  const written: Update[] = [];
  const offsets: number[] = [];
  const stages = { writing: 0, swapping: 0 };
  let rollAt = Date.now();
  for (let round = 0; round < ROUNDS; round++) {
    const updates: Update[] = [];
    for (let i = 0; i < UPDATES_PER_ROUND; i++) {
      const k = (i * 7 + round) % KEYS;
      updates.push({ key: `key-${k}`, value: k % 9 === round % 9 && i >= UPDATES_PER_ROUND - KEYS ? null : `r${round}-u${i}-${'x'.repeat(40)}` });
    }
    rollAt += SEGMENT_MS + 1000;
    updates.push({ key: `roll-${round}`, value: 'roll' });
    offsets.push(...(await produce(client, TOPIC, updates, { perBatch: 100, inFlight: 1, lastTimestamp: rollAt })));
    written.push(...updates);

    // Kill as soon as the cleaner's files show up: every other round right away (the pool is
    // writing), else once the swap has begun or the cleaning is over.
    const files = (): string[] => readdirSync(dir).filter((n) => n.endsWith('.cleaned') || n.endsWith('.swap'));
    const cleanedBefore = broker.output().split('"log cleaned"').length;
    let seen = '';
    await soon('the cleaner to start on the rolled segment', () => {
      const f = files();
      if (f.some((n) => n.endsWith('.swap'))) seen = 'swapping';
      else if (f.length > 0 && round % 2 === 0) seen = 'writing';
      else if (broker.output().split('"log cleaned"').length > cleanedBefore) seen = 'done';
      return seen !== '';
    });
    if (seen in stages) stages[seen as keyof typeof stages]++;
    client.close();
    await broker.kill('SIGKILL');
    await broker.restart();
    client = await WireClient.connect(broker.port);

    const read = rows((await readPartition(client, TOPIC, 0)).records);
    t.ok(read.every((r, i) => i === 0 || r.offset > read[i - 1]!.offset), `round ${round} (killed ${seen}): the log reads back in offset order`);
    const got = new Map(read.map((r) => [`${r.offset}`, r]));
    const lost = [...latestByKey(written, offsets)].filter(([key, v]) => {
      const r = got.get(`${v.offset}`);
      return r === undefined || r.key !== key || r.value !== v.value;
    });
    t.same(lost, [], `round ${round}: every key's latest update is there`);
  }
  client.close();
  t.ok(stages.writing + stages.swapping >= ROUNDS / 2, `killed while the pool wrote cleaned segments ${stages.writing} times, during a swap ${stages.swapping} times`);
});
