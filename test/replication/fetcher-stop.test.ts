// A follower's fetcher that metadata stops while it applies a response (this broker became the
// leader of a partition, or the leader moved) applies nothing more of that response: the old
// leader's batches must not land in a log whose new epoch has begun. Against a fake leader that
// answers one Fetch with a batch for each of two partitions; the durability wait of the first
// is where the "metadata update" stops the fetcher.
import t from 'tap';
import { buildRecordBatch } from '../../src/shared/record-batch.js';
import { encodeResponseFrame } from '../../src/shared/protocol/frames.js';
import { decodeRequestHeader } from '../../src/shared/protocol/headers.js';
import { ApiKey } from '../../src/shared/protocol/generated/api-keys.js';
import { LogManager } from '../../src/workers/partition/log/log-manager.js';
import { ReplicaFetcher } from '../../src/workers/partition/replica-fetcher.js';
import { ReplicationQuota, replicationQuotaBuffer } from '../../src/shared/replication-quota.js';
import { frameServer, type FrameServer } from '../helpers/frame-server.js';
import { config, silent, tmpDir } from '../storage/helpers.js';

/** A leader that answers every Fetch with one batch (offset 0, epoch 5) for partitions 0 and 1 of `topic`. */
function fakeLeader(topic: string): Promise<FrameServer> {
  const batch = buildRecordBatch({ baseOffset: 0, partitionLeaderEpoch: 5, records: [{ value: Buffer.from('from the old leader') }] });
  return frameServer((frame, s) => {
    const h = decodeRequestHeader(frame);
    const partition = (index: number) => ({
      partitionIndex: index, errorCode: 0, highWatermark: 1, lastStableOffset: 1, logStartOffset: 0,
      abortedTransactions: [], preferredReadReplica: -1, records: batch,
    });
    const body = { throttleTimeMs: 0, errorCode: 0, sessionId: 0, responses: [{ topic, partitions: [partition(0), partition(1)] }] };
    for (const c of encodeResponseFrame(ApiKey.Fetch, h.apiVersion, h.correlationId, body)) s.write(c);
  });
}

t.test('a fetcher stopped while it applies a response appends nothing more of it', async (t) => {
  const dir = tmpDir(t, 'fetcher-stop');
  const manager = await LogManager.open({ dir, config: config(), logger: silent });
  t.teardown(() => manager.close());
  const first = await manager.create('moved', 0);
  const second = await manager.create('moved', 1);
  const leader = await fakeLeader('moved');
  t.teardown(() => leader.close());

  let stoppedAfter: number | undefined;
  const fetcher: ReplicaFetcher = new ReplicaFetcher(1, { host: '127.0.0.1', port: leader.port }, 2, { tls: null, sasl: null }, manager, {
    durable: async (log) => {
      // Metadata arrives while the first partition's batch is made durable: the fetcher stops.
      if (stoppedAfter === undefined) {
        stoppedAfter = log.partition;
        fetcher.stop();
      }
    },
    highWatermark: () => undefined,
  }, new ReplicationQuota(replicationQuotaBuffer()), silent);
  fetcher.setPartitions(new Map([
    ['moved\u00000', { log: first, leaderEpoch: 5, throttled: false }],
    ['moved\u00001', { log: second, leaderEpoch: 5, throttled: false }],
  ]));
  await new Promise<void>((resolve, reject) => {
    const deadline = setTimeout(() => reject(new Error('the fetcher applied nothing within 10 s')), 10_000);
    const poll = setInterval(() => {
      if (stoppedAfter === undefined) return;
      clearInterval(poll);
      clearTimeout(deadline);
      resolve();
    }, 5);
  });
  const ends = [first, second].map((l) => l.logEndOffset);
  const appliedTo = stoppedAfter === 0 ? ends : [...ends].reverse();
  t.same(appliedTo, [1, 0], 'the partition applied before the stop holds the batch; the one after it holds nothing');
});
