// The high watermark in replication-offset-checkpoint: written in Kafka's text format on its
// timer and at close, by several managers sharing a dir without dropping each other's
// partitions, read at the next start and capped by what the log holds; a deleted log's mark
// is not handed to a log created again under the same name.
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { HIGH_WATERMARK_CHECKPOINT } from '../../src/workers/partition/log/high-watermark-checkpoint.js';
import { LogManager } from '../../src/workers/partition/log/log-manager.js';
import type { PartitionLog } from '../../src/workers/partition/log/partition-log.js';
import { batch, config, silent, tmpDir } from './helpers.js';

function open(dir: string, marks: Map<string, number>, owns?: (topic: string) => boolean, intervalMs = 3_600_000) {
  return LogManager.open({
    dir,
    config: config(),
    logger: silent,
    owns: owns && ((topic) => owns(topic)),
    lock: false,
    highWatermarks: { intervalMs, current: (l: PartitionLog) => marks.get(l.name) },
  });
}

async function fill(m: LogManager, topic: string, records: number): Promise<PartitionLog> {
  const log = await m.create(topic, 0);
  for (let i = 0; i < records; i++) await m.append(log, batch(1, 10, Date.now(), i), { acks: -1, leaderEpoch: 0 });
  return log;
}

t.test('written at close in Kafka\'s format, read back at start, capped by the log end', async (t) => {
  const dir = tmpDir(t, 'hw');
  const marks = new Map<string, number>();
  const m = await open(dir, marks);
  const a = await fill(m, 'a', 5);
  const b = await fill(m, 'b', 3);
  marks.set(a.name, 4);
  marks.set(b.name, 3);
  await m.close();
  const text = fs.readFileSync(path.join(dir, HIGH_WATERMARK_CHECKPOINT), 'utf8');
  t.same(text.split('\n').slice(0, 2), ['0', '2'], 'version 0, then the entry count');
  t.same(text.split('\n').slice(2).filter(Boolean).sort(), ['a 0 4', 'b 0 3'], 'one `topic partition offset` line per log');

  // b's mark is set above its end by hand: a mark is never trusted past what the log holds.
  fs.writeFileSync(path.join(dir, HIGH_WATERMARK_CHECKPOINT), '0\n2\na 0 4\nb 0 9\n');
  const again = await open(dir, new Map());
  t.equal(again.checkpointedHighWatermark('a', 0), 4, 'the checkpointed mark comes back');
  t.equal(again.checkpointedHighWatermark('b', 0), 3, 'capped at the log end');
  await again.delete('a', 0);
  await again.create('a', 0);
  t.equal(again.checkpointedHighWatermark('a', 0), undefined, 'a log made again after a delete has no mark');
  await again.close();
  t.same(fs.readFileSync(path.join(dir, HIGH_WATERMARK_CHECKPOINT), 'utf8').split('\n').slice(2).filter(Boolean), ['b 0 9'], 'a log without a mark of its own keeps the one checkpointed');
});

t.test('written on its timer; managers sharing the dir keep each other\'s entries', async (t) => {
  const dir = tmpDir(t, 'hw-shared');
  const marksA = new Map<string, number>();
  const marksB = new Map<string, number>();
  const ma = await open(dir, marksA, (topic) => topic === 'a', 20);
  const mb = await open(dir, marksB, (topic) => topic === 'b', 20);
  marksA.set((await fill(ma, 'a', 2)).name, 2);
  marksB.set((await fill(mb, 'b', 4)).name, 4);
  const file = path.join(dir, HIGH_WATERMARK_CHECKPOINT);
  const entries = () => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').slice(2).filter(Boolean).sort() : []);
  while (entries().join() !== 'a 0 2,b 0 4') await new Promise((r) => setTimeout(r, 10));
  t.pass('both managers\' marks are in the file without a close');
  await Promise.all([ma.close(), mb.close()]);
  t.same(entries(), ['a 0 2', 'b 0 4'], 'and stay after both closed');
});
