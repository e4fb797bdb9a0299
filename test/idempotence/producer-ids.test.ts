// Producer ids: the controller hands out blocks (pure controller and image checks), the broker
// gives every InitProducerId without a transactional id a fresh id, never one given before a
// restart.
import t from 'tap';
import { ErrorCode } from '../../src/shared/errors.js';
import { ApiKey } from '../../src/shared/protocol/generated/api-keys.js';
import { Controller } from '../../src/workers/raft/metadata/controller.js';
import { PRODUCER_ID_BLOCK_SIZE } from '../../src/workers/raft/metadata/producer-ids.js';
import { MetadataImage } from '../../src/workers/raft/metadata/image.js';
import { decodeBatch, encodeBatch } from '../../src/workers/raft/metadata/records.js';
import { startBroker } from '../helpers/broker.js';
import { brokerTeardown } from '../clients/harness.js';
import { WireClient } from '../clients/wire-client.js';

t.test('the controller allocates consecutive blocks to registered brokers', async (t) => {
  const image = new MetadataImage();
  const controller = new Controller(image, { numPartitions: 1, defaultReplicationFactor: 1, brokerSessionTimeoutMs: 10_000 }, { int: () => 0, id: () => 'ab'.repeat(16) }, 0);
  let offset = 1;
  const commit = (records: ReturnType<Controller['allocateProducerIds']>['records']): void => {
    image.apply(decodeBatch(encodeBatch(records)), offset++);
  };
  t.equal(controller.allocateProducerIds({ brokerId: 1, brokerEpoch: 5 }).result.errorCode, ErrorCode.BROKER_ID_NOT_REGISTERED);
  commit(controller.registerBroker({ brokerId: 1, incarnationId: 'cd'.repeat(16), host: 'h', port: 1, listeners: [], rack: null }, 0).records);
  const epoch = image.brokers.get(1)!.epoch;
  t.equal(controller.allocateProducerIds({ brokerId: 1, brokerEpoch: epoch + 1 }).result.errorCode, ErrorCode.STALE_BROKER_EPOCH);
  const first = controller.allocateProducerIds({ brokerId: 1, brokerEpoch: epoch });
  t.same(first.result, { errorCode: 0, errorMessage: null, firstProducerId: 0, size: PRODUCER_ID_BLOCK_SIZE });
  commit(first.records);
  const second = controller.allocateProducerIds({ brokerId: 1, brokerEpoch: epoch });
  t.equal(second.result.firstProducerId, PRODUCER_ID_BLOCK_SIZE, 'the next block starts where the committed one ended');
  commit(second.records);
  commit(first.records);
  t.equal(image.nextProducerId, 2 * PRODUCER_ID_BLOCK_SIZE, 'a replayed older record never moves the counter back');
  const restored = MetadataImage.fromSnapshot(image.encodeSnapshot());
  t.equal(restored.nextProducerId, 2 * PRODUCER_ID_BLOCK_SIZE, 'the counter survives a metadata snapshot');
});

t.test('InitProducerId without a transactional id on a broker', async (t) => {
  const broker = await startBroker();
  brokerTeardown(t, broker);
  const init = async (client: WireClient, transactionalId: string | null = null, version = 4): Promise<{ errorCode: number; producerId: number; producerEpoch: number }> =>
    client.request(ApiKey.InitProducerId, version, { transactionalId, transactionTimeoutMs: 60_000, producerId: -1, producerEpoch: -1 });

  let client = await WireClient.connect(broker.port);
  const versions = await client.request(ApiKey.ApiVersions, 3, { clientSoftwareName: 'test', clientSoftwareVersion: '1' });
  const initRange = versions.apiKeys.find((k: { apiKey: number }) => k.apiKey === ApiKey.InitProducerId);
  t.same([initRange?.minVersion, initRange?.maxVersion], [0, 5], 'InitProducerId 0-5 advertised');

  const before: number[] = [];
  for (const version of [0, 2, 3, 4, 5]) {
    const r = await init(client, null, version);
    t.same([r.errorCode, r.producerEpoch], [0, 0], `v${version}: a producer id at epoch 0`);
    before.push(r.producerId);
  }
  t.equal(new Set(before).size, before.length, 'every producer id is new');

  client.close();

  await broker.stop();
  await broker.restart();
  client = await WireClient.connect(broker.port);
  const after = await init(client);
  t.equal(after.errorCode, 0);
  t.ok(after.producerId > Math.max(...before), `after a restart a new block is used (${after.producerId})`);
  client.close();
});
