// What a ring reports of itself to the metrics endpoint: bytes in use and the most ever in
// use, the consumer's sleeps on an empty ring, the producer's wake-ups of it, and the
// producer's waits on a full one.
import t from 'tap';
import { createRing, RingConsumer, RingProducer, ringStats } from '../../src/shared/ring.js';

function put(p: RingProducer, length: number): boolean {
  const at = p.reserve(length);
  if (at < 0) return false;
  p.bytes.fill(7, at, at + length);
  p.publish();
  return true;
}

t.test('ring counters and occupancy', async (t) => {
  const sab = createRing(4096);
  const producer = new RingProducer(sab);
  const consumer = new RingConsumer(sab);
  t.same(ringStats(sab), { capacity: 4096, used: 0, peakUsed: 0, wakeups: 0, consumerSleeps: 0, producerWaits: 0, missedWakeups: 0 }, 'a new ring is empty and has counted nothing');

  let seen = 0;
  let drained!: () => void;
  let round = new Promise<void>((r) => (drained = r));
  const running = consumer.run(() => seen++, () => drained());
  t.equal(ringStats(sab).consumerSleeps, 1, 'the consumer found the ring empty and slept');

  t.ok(put(producer, 100), 'a message is published');
  t.equal(ringStats(sab).used, 104, 'its frame (4-byte length, payload, padding to 8) is in use');
  t.equal(ringStats(sab).wakeups, 1, 'publishing woke the sleeping consumer');
  await round;
  t.equal(seen, 1, 'the consumer took the message');
  t.equal(ringStats(sab).used, 0, 'and freed its bytes');
  t.equal(ringStats(sab).peakUsed, 104, 'the peak remembers them');

  // The consumer is busy (not draining) while the producer fills the ring.
  consumer.stop();
  await running;
  let frames = 0;
  while (put(producer, 1000)) frames++;
  const full = ringStats(sab);
  // From byte 104 on, three 1008-byte frames fit; a fourth would have to wrap past the end.
  t.equal(frames, 3, 'the ring takes messages until it is full');
  t.equal(full.used, 3 * 1008, 'all of them in use');
  t.equal(full.peakUsed, 3 * 1008, 'the peak follows');
  const space = producer.waitForSpace();
  t.equal(ringStats(sab).producerWaits, 1, 'the producer waits for space in the full ring');
  const restarted = new RingConsumer(sab);
  round = new Promise<void>((r) => (drained = r));
  const again = restarted.run(() => seen++, () => drained());
  await round;
  await space;
  t.equal(seen, 4, 'a consumer frees the ring');
  t.equal(ringStats(sab).used, 0, 'nothing left in use');
  restarted.stop();
  await again;
});

t.test('a consumer whose wake-up never comes takes the message by itself, and counts it', async (t) => {
  const sab = createRing(4096);
  const producer = new RingProducer(sab);
  const consumer = new RingConsumer(sab);
  let drained!: () => void;
  const round = new Promise<void>((r) => (drained = r));
  let seen = 0;
  const running = consumer.run(() => seen++, () => drained());
  t.equal(ringStats(sab).consumerSleeps, 1, 'the consumer sleeps on the empty ring');
  // The consumer's "sleeping" flag (int32 at byte 4) cleared behind its back: the producer's
  // publish then notifies nobody, as if the wake-up were lost.
  Atomics.store(new Int32Array(sab, 0, 2), 1, 0);
  t.ok(put(producer, 100), 'a message is published');
  t.equal(ringStats(sab).wakeups, 0, 'without a wake-up');
  // A pending Atomics.waitAsync does not keep a Node event loop alive; this timer does (the
  // broker's threads always have other handles), and bounds the wait.
  const guard = setTimeout(() => drained(), 10_000);
  await round;
  clearTimeout(guard);
  t.equal(seen, 1, 'the consumer took the message all the same');
  t.equal(ringStats(sab).missedWakeups, 1, 'and counted the wake-up that did not come');
  consumer.stop();
  await running;
});
