import { spawnSync } from 'node:child_process';
import t from 'tap';
import { createRing, RingConsumer, RingProducer } from '../../src/shared/ring.js';
import { MsgType, readMessage, writeMessage, type ThreadMessage } from '../../src/shared/thread-messages.js';
import { repoRoot } from '../helpers/broker.js';

function drainAll(c: RingConsumer): ThreadMessage[] {
  const out: ThreadMessage[] = [];
  c.drain((bytes, view, at) => out.push(readMessage(bytes, view, at)));
  return out;
}

function pattern(length: number, seed: number): Buffer {
  const b = Buffer.alloc(length);
  for (let i = 0; i < length; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

t.test('record bytes cross the ring intact from buffers at every alignment, across wrap-arounds', async (t) => {
  const sab = createRing(64 * 1024);
  const producer = new RingProducer(sab);
  const consumer = new RingConsumer(sab);
  const backing = Buffer.alloc(20_000);
  let sent = 0;
  let wrong = 0;
  for (let round = 0; round < 40; round++) {
    for (let align = 0; align < 8; align++) {
      const length = (round * 977 + align * 131) % 9000;
      const records = backing.subarray(align, align + length);
      records.set(pattern(length, round + align));
      const produce: ThreadMessage = {
        type: MsgType.PRODUCE, req: sent, part: align, acks: -1, topic: `topic-é-${align}`, partition: round,
        leaderEpoch: 7, timeoutMs: 30_000, records,
      };
      t.ok(writeMessage(producer, produce), 'fits');
      const [got] = drainAll(consumer);
      if (got?.type !== MsgType.PRODUCE || !Buffer.from(got.records).equals(records) || got.topic !== produce.topic || got.partition !== round) wrong++;
      const fetchResult: ThreadMessage = {
        type: MsgType.FETCH_RESULT, req: sent, part: align, error: 0, highWatermark: 2 ** 40 + round, logStartOffset: 3,
        divergingEpoch: -1, divergingEndOffset: -1, records,
      };
      t.ok(writeMessage(producer, fetchResult), 'fits');
      const [back] = drainAll(consumer);
      if (back?.type !== MsgType.FETCH_RESULT || !Buffer.from(back.records).equals(records) || back.highWatermark !== 2 ** 40 + round) wrong++;
      sent++;
    }
  }
  t.equal(wrong, 0, 'every message read back equal');
});

t.test('a drain hands over every message written before it, in order', async (t) => {
  const sab = createRing(4096);
  const producer = new RingProducer(sab);
  const consumer = new RingConsumer(sab);
  const order: number[] = [];
  for (let round = 0; round < 50; round++) {
    let n = 0;
    while (writeMessage(producer, { type: MsgType.WAKE, req: round * 1000 + n })) n++;
    t.ok(n > 0);
    for (const m of drainAll(consumer)) order.push(m.req);
    t.equal(order.length, n);
    t.same(order, Array.from({ length: n }, (_, i) => round * 1000 + i));
    order.length = 0;
  }
});

t.test('fetch and list-offsets parts carry the leader epoch their sender expects', async (t) => {
  const sab = createRing(4096);
  const producer = new RingProducer(sab);
  const consumer = new RingConsumer(sab);
  const fetch: ThreadMessage = {
    type: MsgType.FETCH, req: 1, part: 2, watch: true, topic: 'orders', partition: 3, offset: 2 ** 40, maxBytes: 1 << 20,
    replicaId: 2, lastFetchedEpoch: 6, currentLeaderEpoch: 7, readCommitted: true,
  };
  const listOffsets: ThreadMessage = { type: MsgType.LIST_OFFSETS, req: 3, part: 0, topic: 'orders', partition: 4, currentLeaderEpoch: -1, timestamp: -2, readCommitted: false };
  t.ok(writeMessage(producer, fetch) && writeMessage(producer, listOffsets), 'both fit');
  t.same(drainAll(consumer), [fetch, listOffsets], 'read back field for field');
});

t.test('fetch results carry the last stable offset and the aborted transactions', async (t) => {
  const sab = createRing(4096);
  const producer = new RingProducer(sab);
  const consumer = new RingConsumer(sab);
  const result: ThreadMessage = {
    type: MsgType.FETCH_RESULT, req: 4, part: 1, error: 0, highWatermark: 90, logStartOffset: 0, divergingEpoch: -1, divergingEndOffset: -1,
    lastStableOffset: 42, abortedTransactions: [{ producerId: 2 ** 40, firstOffset: 7 }, { producerId: 3, firstOffset: 30 }],
    records: Buffer.from('abcdefghij'),
  };
  t.ok(writeMessage(producer, result));
  const [back] = drainAll(consumer) as (typeof result)[];
  t.same({ ...back, records: Buffer.from(back!.records) }, result, 'read back field for field');
});

t.test('produce results carry the reason of a refusal', async (t) => {
  const sab = createRing(4096);
  const producer = new RingProducer(sab);
  const consumer = new RingConsumer(sab);
  const base = { type: MsgType.PRODUCE_RESULT, req: 9, part: 2, baseOffset: -1, logAppendTime: -1, logStartOffset: 5, toWorkerUs: 1, localUs: 2, queuedUs: 3, syncUs: 4, remoteUs: 5 } as const;
  const refused = { ...base, error: 87, errorMessage: 'Compacted topic cannot accept message without key in topic partition tópico-0.' };
  const accepted = { ...base, error: 0 };
  t.ok(writeMessage(producer, refused));
  t.ok(writeMessage(producer, accepted));
  const back = drainAll(consumer).map((m) => ({ ...m, sentAt: undefined }));
  t.same(back, [{ ...refused, sentAt: undefined }, { ...accepted, sentAt: undefined, errorMessage: undefined }], 'the message, UTF-8 intact, and none when accepted');
  t.equal((back[1] as { errorMessage?: string }).errorMessage, undefined);
});

t.test('the committed ring codecs are what their table generates', async (t) => {
  const res = spawnSync(process.execPath, ['tools/gen-ring-messages.mjs', '--check'], { cwd: repoRoot, encoding: 'utf8' });
  t.equal(res.status, 0, `gen-ring-messages --check exits 0${res.status === 0 ? '' : `: ${res.stderr}`}`);
});
