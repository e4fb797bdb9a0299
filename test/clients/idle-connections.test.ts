// connections.max.idle.ms against a real broker process: a connection with nothing to say is
// closed once the setting's time has passed since its last response, and a request still being
// served (a long-poll fetch that outlasts the setting) is answered, not cut off.
import t from 'tap';
import { ErrorCode } from '../../src/shared/errors.js';
import { ApiKey } from '../../src/shared/protocol/generated/api-keys.js';
import { startBroker } from '../helpers/broker.js';
import { brokerTeardown } from './harness.js';
import { WireClient } from './wire-client.js';

const IDLE_MS = 1000;

function closed(client: WireClient): Promise<number> {
  return new Promise((resolve) => client.socket.once('close', () => resolve(Date.now())));
}

t.test('idle connections are closed after connections.max.idle.ms', async (t) => {
  const broker = await startBroker({ overrides: { 'num.partitions': 1, 'connections.max.idle.ms': IDLE_MS } });
  brokerTeardown(t, broker);

  await t.test('a connection that stops talking is closed', async (t) => {
    const client = await WireClient.connect(broker.port);
    t.teardown(() => client.close());
    const gone = closed(client);
    // The broker's last activity on the connection (reading the request, writing the answer)
    // comes after `sentAt`, so the idle close cannot come sooner than IDLE_MS after it.
    const sentAt = Date.now();
    const versions = await client.request(ApiKey.ApiVersions, 3, { clientSoftwareName: 'idle', clientSoftwareVersion: '1' });
    t.equal(versions.errorCode, ErrorCode.NONE, 'the connection is served first');
    const closedAt = await gone;
    t.ok(closedAt - sentAt >= IDLE_MS, `closed ${closedAt - sentAt} ms after the request was sent, not before ${IDLE_MS} ms`);
  });

  await t.test('a long-poll fetch longer than the idle time is answered', async (t) => {
    const admin = await WireClient.connect(broker.port);
    t.teardown(() => admin.close());
    const created = await admin.request(ApiKey.CreateTopics, 5, {
      topics: [{ name: 'idle-poll', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 5000,
    });
    t.equal(created.topics[0].errorCode, ErrorCode.NONE, 'topic created');
    const client = await WireClient.connect(broker.port);
    t.teardown(() => client.close());
    const gone = closed(client);
    const maxWaitMs = 3 * IDLE_MS;
    const sentAt = Date.now();
    const res = await client.request(ApiKey.Fetch, 12, {
      replicaId: -1,
      maxWaitMs,
      minBytes: 1,
      maxBytes: 1 << 20,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [{ topic: 'idle-poll', partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0, lastFetchedEpoch: -1, logStartOffset: -1, partitionMaxBytes: 1 << 20 }] }],
      forgottenTopicsData: [],
      rackId: '',
    });
    const answeredAt = Date.now();
    t.equal(res.errorCode, ErrorCode.NONE, 'the fetch is answered without error');
    t.ok(answeredAt - sentAt >= maxWaitMs - 100, `after its full wait (${answeredAt - sentAt} ms), past the idle time`);
    const closedAt = await gone;
    // The answer left the broker no sooner than maxWaitMs after `sentAt`; idleness counts from there.
    t.ok(closedAt - sentAt >= maxWaitMs + IDLE_MS - 100, `then closed, ${closedAt - sentAt} ms after the fetch was sent`);
  });
});
