// The replication rules of one partition, event by event, on the pure state machine.
import t from 'tap';
import { ErrorCode } from '../../src/shared/errors.js';
import type { HostedPartition } from '../../src/shared/worker-types.js';
import { PartitionReplica, truncationPoint, type LogEnds } from '../../src/workers/partition/replication/partition-replica.js';

function meta(over: Partial<HostedPartition> = {}): HostedPartition {
  return { topic: 't', topicId: '0'.repeat(32), partition: 0, leader: 1, leaderEpoch: 5, partitionEpoch: 10, replicas: [1, 2, 3], isr: [1, 2, 3], minIsr: 2, logConfig: {}, ...over };
}
/** A log written through `logEndOffset` and fsynced through `durableEndOffset`. */
const ends = (logEndOffset: number, durableEndOffset = logEndOffset): LogEnds => ({ logStartOffset: 0, logEndOffset, writtenEndOffset: logEndOffset, durableEndOffset });
const writeCaching = { logConfig: { writeCaching: true } };
/** The leader's epoch ends for a follower whose history matches. */
const matching = (epoch: number) => ({ epoch, endOffset: 100 });

t.test('a new leader starts its epoch at the log end and holds consumers back until the mark reaches it', async (t) => {
  const r = new PartitionReplica<string>(1);
  r.applyMetadata(meta({ leader: 2, leaderEpoch: 4 }), ends(8), 0);
  r.learnedHighWatermark(6, ends(8));
  const out = r.applyMetadata(meta(), ends(8), 0);
  t.same(out.startEpoch, { epoch: 5, endOffset: 8 }, 'the epoch starts at the log end');
  t.equal(r.highWatermark, 6, 'the mark starts where the follower learned it, not higher');
  t.equal(r.consumerUpper().error, ErrorCode.NOT_LEADER_OR_FOLLOWER, 'consumers retry while the mark is below the epoch start');
  t.equal(r.listOffsetsError(), ErrorCode.OFFSET_NOT_AVAILABLE, 'ListOffsets says the offset is not available yet');
  r.followerFetch(2, 8, 4, ends(8), matching, 8, 1);
  r.followerFetch(3, 8, 4, ends(8), matching, 8, 1);
  t.equal(r.highWatermark, 8, 'both followers at the end move the mark');
  t.same(r.consumerUpper(), { error: ErrorCode.NONE, upper: 8 }, 'and consumers read up to it');
});

t.test('acks=all waits for every ISR member and releases in offset order', async (t) => {
  const r = new PartitionReplica<string>(1);
  r.applyMetadata(meta(), ends(0), 0);
  const term = r.leadership;
  t.equal(r.appended(term, 0, 'a'), null, 'first write waits');
  t.equal(r.appended(term, 1, 'b'), null, 'second write waits');
  t.same(r.durable(ends(2)).released, [], 'the leader\'s own fsync alone releases nothing');
  const one = r.followerFetch(2, 1, 5, ends(2), matching, 2, 1);
  t.same(one.kind === 'read' && one.released, [], 'one follower at 1: the other still holds the mark at 0');
  const both = r.followerFetch(3, 1, 5, ends(2), matching, 2, 1);
  t.same(both.kind === 'read' && both.released, [{ payload: 'a', error: ErrorCode.NONE }], 'both at 1 release the first write only');
  const rest = r.followerFetch(2, 2, 5, ends(2), matching, 2, 2);
  t.same(rest.kind === 'read' && rest.released, [], 'the second waits for the slowest ISR member');
  t.ok(r.expire('b'), 'a write past its timeout leaves the purgatory');
  t.notOk(r.expire('b'), 'only once');
});

t.test('an append finished under another leadership is not acknowledged', async (t) => {
  const r = new PartitionReplica<string>(1);
  r.applyMetadata(meta({ isr: [1] }), ends(0), 0);
  const term = r.leadership;
  r.applyMetadata(meta({ leader: 2, leaderEpoch: 6 }), ends(1), 0);
  t.same(r.appended(term, 0, 'late'), { payload: 'late', error: ErrorCode.NOT_LEADER_OR_FOLLOWER });
});

t.test('losing leadership fails what waits', async (t) => {
  const r = new PartitionReplica<string>(1);
  r.applyMetadata(meta(), ends(0), 0);
  r.appended(r.leadership, 0, 'w');
  const out = r.applyMetadata(meta({ leader: 2, leaderEpoch: 6, partitionEpoch: 11 }), ends(1), 0);
  t.same(out.released, [{ payload: 'w', error: ErrorCode.NOT_LEADER_OR_FOLLOWER }]);
  t.equal(r.produceError(-1), ErrorCode.NOT_LEADER_OR_FOLLOWER, 'a follower takes no produce');
  t.equal(r.followedLeader, 2, 'it follows the new leader');
});

t.test('min.insync.replicas: refused before the append, failed after it when the ISR shrank', async (t) => {
  const r = new PartitionReplica<string>(1);
  r.applyMetadata(meta({ isr: [1, 2] }), ends(0), 0);
  r.appended(r.leadership, 0, 'w');
  const shrunk = r.applyMetadata(meta({ isr: [1], partitionEpoch: 11 }), ends(1, 0), 0);
  t.same(shrunk.released, [], 'nothing released before the leader\'s own fsync');
  t.same(r.durable(ends(1)).released, [{ payload: 'w', error: ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND }], 'held by the ISR of one: NOT_ENOUGH_REPLICAS_AFTER_APPEND');
  t.equal(r.produceError(-1), ErrorCode.NOT_ENOUGH_REPLICAS, 'new acks=all writes are refused');
  t.equal(r.produceError(1), ErrorCode.NONE, 'acks=1 still goes');
});

t.test('a caught-up follower on a fenced broker is not proposed into the ISR until it is unfenced', async (t) => {
  const r = new PartitionReplica<string>(1);
  r.applyMetadata(meta({ isr: [1, 2] }), ends(4), 0);
  r.followerFetch(2, 4, 5, ends(4), matching, 4, 1);
  r.followerFetch(3, 4, 5, ends(4), matching, 4, 1);
  const fenced = new Set([3]);
  t.equal(r.proposeIsr(2, 1000, (id) => !fenced.has(id)), null, 'broker 3 is caught up, but the controller would refuse it');
  t.equal(r.proposeIsr(1500, 10_000, (id) => !fenced.has(id)), null, 'nor is it proposed at the next check');
  fenced.clear();
  t.same(r.proposeIsr(3000, 10_000, (id) => !fenced.has(id))?.isr, [1, 2, 3], 'unfenced, it joins');
});

t.test('a proposed ISR expansion counts the new member before the controller commits it', async (t) => {
  const r = new PartitionReplica<string>(1);
  r.applyMetadata(meta({ isr: [1, 2] }), ends(4), 0);
  r.followerFetch(2, 4, 5, ends(4), matching, 4, 1);
  r.followerFetch(3, 4, 5, ends(4), matching, 4, 1);
  t.equal(r.highWatermark, 4);
  const p = r.proposeIsr(2, 1000);
  t.same(p, { isr: [1, 2, 3], leaderEpoch: 5, partitionEpoch: 10 }, 'the caught-up follower is proposed');
  t.equal(r.proposeIsr(3, 1000), null, 'not proposed again within the retry interval');
  r.appended(r.leadership, 5, 'w');
  r.durable(ends(6));
  const f2 = r.followerFetch(2, 6, 5, ends(6), matching, 6, 4);
  t.same(f2.kind === 'read' && f2.released, [], 'the mark waits for the proposed member too (maximal ISR)');
  const f3 = r.followerFetch(3, 6, 5, ends(6), matching, 6, 4);
  t.same(f3.kind === 'read' && f3.released, [{ payload: 'w', error: ErrorCode.NONE }], 'and moves once it has the write');
});

t.test('a follower whose history disagrees is told where to truncate', async (t) => {
  const r = new PartitionReplica<string>(1);
  r.applyMetadata(meta(), ends(10), 0);
  const epochs = (e: number) => (e === 3 ? { epoch: 3, endOffset: 6 } : { epoch: 5, endOffset: 10 });
  const ans = r.followerFetch(2, 8, 3, ends(10), epochs, 10, 1);
  t.match(ans, { kind: 'diverging', epoch: 3, endOffset: 6 }, 'epoch 3 ended at 6 here, the follower is at 8');
  t.equal(truncationPoint({ epoch: 3, endOffset: 6 }, { epoch: 3, endOffset: 8 }, ends(8)), 6, 'it truncates to the leader\'s end of that epoch');
  t.equal(r.followerFetch(9, 0, -1, ends(10), epochs, 10, 1).kind, 'error', 'a broker that is not a replica is refused');
});

t.test('write caching: acks=all answers once the ISR has written the batch, fsynced or not', async (t) => {
  const r = new PartitionReplica<string>(1);
  r.applyMetadata(meta(writeCaching), ends(0), 0);
  const term = r.leadership;
  t.same(r.written(ends(1, 0)), { released: [], hwMoved: false }, 'the leader\'s own write alone moves nothing while followers have not fetched');
  t.equal(r.appended(term, 0, 'a'), null, 'the write waits for the in-sync followers');
  const one = r.followerFetch(2, 1, 5, ends(1, 0), matching, 1, 1);
  t.same(one.kind === 'read' && one.released, [], 'one follower wrote it: the other still holds the mark');
  const both = r.followerFetch(3, 1, 5, ends(1, 0), matching, 1, 1);
  t.same(both.kind === 'read' && both.released, [{ payload: 'a', error: ErrorCode.NONE }], 'every ISR member wrote it: answered with nothing fsynced anywhere');
  t.equal(r.highWatermark, 1, 'consumers may read it');
});

t.test('a single replica in write-caching mode answers at its write; by default at its fsync', async (t) => {
  const alone = { replicas: [1], isr: [1], minIsr: 1 };
  const cached = new PartitionReplica<string>(1);
  cached.applyMetadata(meta({ ...alone, ...writeCaching }), ends(0), 0);
  t.same(cached.written(ends(1, 0)), { released: [], hwMoved: true }, 'the written end moves the mark');
  t.same(cached.appended(cached.leadership, 0, 'a'), { payload: 'a', error: ErrorCode.NONE }, 'and the append is answered at once');

  const synced = new PartitionReplica<string>(1);
  synced.applyMetadata(meta(alone), ends(0), 0);
  t.same(synced.written(ends(1, 0)), { released: [], hwMoved: false }, 'by default a write alone moves nothing');
  t.equal(synced.appended(synced.leadership, 0, 'a'), null, 'the append waits');
  t.same(synced.durable(ends(1)).released, [{ payload: 'a', error: ErrorCode.NONE }], 'for the fsync');
});

t.test('a follower in write-caching mode learns the high watermark as far as it has written', async (t) => {
  const r = new PartitionReplica<string>(2);
  r.applyMetadata(meta(writeCaching), ends(4, 1), 0);
  r.learnedHighWatermark(6, ends(4, 1));
  r.applyMetadata(meta({ leader: 2, leaderEpoch: 6, ...writeCaching }), ends(4, 1), 0);
  t.equal(r.highWatermark, 4, 'leading, it starts from the mark capped by its written end, not its fsynced one');
});

t.test('a leader elected after a restart starts from the checkpointed high watermark, never above what it holds', async (t) => {
  // Restarted with the mark 6 checkpointed and 8 records fsynced: leads from 6 at once.
  const r = new PartitionReplica<string>(1, 6);
  t.equal(r.knownHighWatermark, 6, 'before any metadata, the checkpointed mark is the one to checkpoint again');
  r.applyMetadata(meta({ isr: [1, 2] }), ends(8), 0);
  t.equal(r.highWatermark, 6, 'the mark starts where it was checkpointed');
  r.followerFetch(2, 8, 4, ends(8), matching, 8, 1);
  t.same([r.highWatermark, r.consumerUpper()], [8, { error: ErrorCode.NONE, upper: 8 }], 'and moves on from there');

  // Checkpointed 6, but only 4 fsynced (write-caching log that lost its tail, or a short disk).
  const short = new PartitionReplica<string>(1, 6);
  short.applyMetadata(meta({ isr: [1, 2] }), ends(5, 4), 0);
  t.equal(short.highWatermark, 4, 'never above what the log holds');

  // Checkpointed at the log end: consumers and ListOffsets are answered before any follower fetches.
  const atEnd = new PartitionReplica<string>(1, 8);
  atEnd.applyMetadata(meta(), ends(8), 0);
  t.same([atEnd.listOffsetsError(), atEnd.consumerUpper()], [ErrorCode.NONE, { error: ErrorCode.NONE, upper: 8 }], 'served at once');
  t.equal(atEnd.knownHighWatermark, 8, 'the leader checkpoints its own mark');

  // A follower that learns a mark checkpoints that one.
  const follower = new PartitionReplica<string>(1, 3);
  follower.applyMetadata(meta({ leader: 2 }), ends(8), 0);
  follower.learnedHighWatermark(7, ends(8));
  t.equal(follower.knownHighWatermark, 7, 'a follower checkpoints the mark it learned');
});

t.test('a follower joins the ISR only once it reaches the start of the leader\'s epoch, not just its mark', async (t) => {
  // Broker 1 learned the mark 0 as follower, but holds 2 records the old leader acknowledged.
  const r = new PartitionReplica<string>(1);
  r.applyMetadata(meta({ leader: 2, leaderEpoch: 4, isr: [1, 2] }), ends(2), 0);
  r.applyMetadata(meta({ isr: [1, 2] }), ends(2), 0);
  t.equal(r.highWatermark, 0, 'the new leader\'s mark starts below the records acknowledged before');
  r.followerFetch(3, 0, -1, ends(2), matching, 2, 10);
  t.equal(r.proposeIsr(20, 1000), null, 'broker 3, at the mark but without those records, stays out of the ISR');
  r.followerFetch(3, 2, 4, ends(2), matching, 2, 30);
  t.same(r.proposeIsr(40, 1000)?.isr, [1, 2, 3], 'once it holds them, it joins');
});
