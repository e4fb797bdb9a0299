// The follower side of the replication throttle, in a fetcher against a fake leader that
// answers every Fetch with one 1 KiB batch at each asked offset. Of three partitions, 0 is
// throttled and behind the leader, 1 is not throttled, 2 is throttled but caught up with the
// leader's high watermark after each fetch. With the follower rate above its bound, 0 is left
// out of the fetches (not failed: it is fetched again once the bound is lifted), while 1 and
// 2 go on; the throttled bytes count against the shared rate.
import t from 'tap';
import { buildRecordBatch } from '../../src/shared/record-batch.js';
import { encodeResponseFrame } from '../../src/shared/protocol/frames.js';
import { decodeRequestHeader } from '../../src/shared/protocol/headers.js';
import { Reader } from '../../src/shared/protocol/reader.js';
import { ApiKey } from '../../src/shared/protocol/generated/api-keys.js';
import { decodeFetchRequest } from '../../src/shared/protocol/generated/fetch-request.js';
import { ReplicationQuota, replicationQuotaBuffer } from '../../src/shared/replication-quota.js';
import { LogManager } from '../../src/workers/partition/log/log-manager.js';
import { ReplicaFetcher } from '../../src/workers/partition/replica-fetcher.js';
import { frameServer, type FrameServer } from '../helpers/frame-server.js';
import { config, silent, tmpDir } from '../storage/helpers.js';

const TOPIC = 'throttled';

/** A leader 100 records ahead of every asked offset, but for partition 2, which ends right after it. */
function fakeLeader(asked: number[][]): Promise<FrameServer> {
  return frameServer((frame, s) => {
    const h = decodeRequestHeader(frame);
    const req = decodeFetchRequest(new Reader(frame, h.headerLength), h.apiVersion);
    const parts = req.topics.flatMap((tp) => tp.partitions);
    asked.push(parts.map((p) => p.partition).sort());
    const partitions = parts.map((p) => ({
      partitionIndex: p.partition, errorCode: 0, highWatermark: p.fetchOffset + (p.partition === 2 ? 1 : 100), lastStableOffset: -1, logStartOffset: 0,
      abortedTransactions: [], preferredReadReplica: -1,
      records: buildRecordBatch({ baseOffset: p.fetchOffset, partitionLeaderEpoch: 5, records: [{ value: Buffer.alloc(1024, 7) }] }),
    }));
    const body = { throttleTimeMs: 0, errorCode: 0, sessionId: 0, responses: [{ topic: TOPIC, partitions }] };
    setTimeout(() => { for (const c of encodeResponseFrame(ApiKey.Fetch, h.apiVersion, h.correlationId, body)) s.write(c); }, 10);
  });
}

function until(what: string, check: () => boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    const deadline = setTimeout(() => reject(new Error(`not within 10 s: ${what}`)), 10_000);
    const poll = setInterval(() => {
      if (!check()) return;
      clearInterval(poll);
      clearTimeout(deadline);
      resolve();
    }, 5);
  });
}

t.test('a throttled partition still catching up is left out of the fetches while the rate is above the bound', async (t) => {
  const manager = await LogManager.open({ dir: tmpDir(t, 'fetcher-throttle'), config: config(), logger: silent });
  t.teardown(() => manager.close());
  const logs = await Promise.all([0, 1, 2].map((p) => manager.create(TOPIC, p)));
  const asked: number[][] = [];
  const leader = await fakeLeader(asked);
  t.teardown(() => leader.close());
  const quota = new ReplicationQuota(replicationQuotaBuffer());
  quota.bound = 100;
  const fetcher = new ReplicaFetcher(1, { host: '127.0.0.1', port: leader.port }, 2, { tls: null, sasl: null }, manager, {
    durable: async () => undefined,
    highWatermark: () => undefined,
  }, quota, silent);
  t.teardown(() => fetcher.stop());
  fetcher.setPartitions(new Map(logs.map((log, i) => [`${TOPIC}\0${i}`, { log, leaderEpoch: 5, throttled: i !== 1 }])));

  await until('ten fetches', () => asked.length >= 10);
  t.same(asked[0], [0, 1, 2], 'the first fetch asks for every partition');
  t.same(asked.slice(1, 10), Array(9).fill([1, 2]), 'then the throttled one still behind is left out, the caught-up one is not');
  t.equal(logs[0]!.logEndOffset, 1, 'the held partition got nothing more');
  t.ok(quota.rate(Date.now()) > 100, 'the bytes of both throttled partitions count against the rate');

  const seen = asked.length;
  quota.bound = Infinity;
  await until('partition 0 fetched again', () => asked.slice(seen).some((a) => a.includes(0)));
  await until('partition 0 to move on', () => logs[0]!.logEndOffset > 1);
  t.pass('once the bound is lifted, the held partition is fetched again and moves on');
});
