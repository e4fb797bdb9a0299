// ACLs with Kafka's StandardAuthorizer semantics against a real broker process: a super user
// manages ACLs (CreateAcls, DescribeAcls, DeleteAcls, committed to the metadata log); a user
// with WRITE only cannot read, a prefixed ACL grants a family of topics, a DENY beats an
// ALLOW, Metadata hides the topics a user may not describe, ACL changes by a non-super user and
// by an anonymous client are refused; kafkajs sees the authorization errors a user would.
import t from 'tap';
import { Kafka, logLevel } from 'kafkajs';
import { AclOperation as Op, AclPermission as Perm, PatternType as Pat, ResourceType as Res } from '../../src/shared/acl.js';
import { ErrorCode } from '../../src/shared/errors.js';
import { ApiKey } from '../../src/shared/protocol/generated/api-keys.js';
import { buildRecordBatch } from '../../src/shared/record-batch.js';
import { freePort, startBroker } from '../helpers/broker.js';
import { brokerTeardown } from '../clients/harness.js';
import { WireClient } from '../clients/wire-client.js';
import { plainLogin } from './sasl-client.js';

const USERS = { admin: 'admin-pw', alice: 'alice-pw', carol: 'carol-pw' };
const JAAS = `org.apache.kafka.common.security.plain.PlainLoginModule required ${Object.entries(USERS).map(([u, p]) => `user_${u}="${p}"`).join(' ')};`;

async function login(port: number, user: keyof typeof USERS): Promise<WireClient> {
  const c = await WireClient.connect(port);
  const r = await plainLogin(c, user, USERS[user]);
  if (r.errorCode !== 0) throw new Error(`${user} login failed: ${r.errorMessage}`);
  return c;
}

const produce = (c: WireClient, topic: string) => c.request(ApiKey.Produce, 9, {
  transactionalId: null, acks: -1, timeoutMs: 5000,
  topicData: [{ name: topic, partitionData: [{ index: 0, records: buildRecordBatch({ records: [{ value: Buffer.from(`to ${topic}`) }] }) }] }],
}).then((r) => r.responses[0].partitionResponses[0].errorCode as number);

const fetch = (c: WireClient, topic: string) => c.request(ApiKey.Fetch, 12, {
  replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
  topics: [{ topic, partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0, lastFetchedEpoch: -1, logStartOffset: -1, partitionMaxBytes: 1 << 20 }] }],
  forgottenTopicsData: [], rackId: '',
}).then((r) => r.responses[0].partitions[0].errorCode as number);

const metadata = (c: WireClient, topics: string[] | null) => c.request(ApiKey.Metadata, 12, {
  topics: topics?.map((name) => ({ name, topicId: 'AAAAAAAAAAAAAAAAAAAAAA' })) ?? null, allowAutoTopicCreation: false,
  includeTopicAuthorizedOperations: false,
}).then((r) => (r.topics as { name: string; errorCode: number }[]).map((x) => [x.name, x.errorCode]).sort());

const binding = (p: Partial<{ resourceType: number; resourceName: string; resourcePatternType: number; principal: string; operation: number; permissionType: number }>) => ({
  resourceType: Res.TOPIC, resourceName: 'orders', resourcePatternType: Pat.LITERAL, principal: 'User:alice', host: '*', operation: Op.READ, permissionType: Perm.ALLOW, ...p,
});

t.test('ACLs', async (t) => {
  const port = await freePort();
  const plainPort = await freePort();
  const controllerPort = await freePort();
  const broker = await startBroker({
    port,
    controllerPort,
    overrides: {
      listeners: `SASL://127.0.0.1:${port},PLAIN://127.0.0.1:${plainPort},CONTROLLER://127.0.0.1:${controllerPort}`,
      'listener.security.protocol.map': 'SASL:SASL_PLAINTEXT,PLAIN:PLAINTEXT,CONTROLLER:PLAINTEXT',
      'inter.broker.listener.name': 'SASL',
      'sasl.enabled.mechanisms': 'PLAIN',
      'listener.name.sasl.plain.sasl.jaas.config': JAAS,
      'authorizer.class.name': 'org.apache.kafka.metadata.authorizer.StandardAuthorizer',
      'super.users': 'User:admin',
      'num.partitions': 1,
      'auto.create.topics.enable': true,
    },
  });
  brokerTeardown(t, broker);
  const admin = await login(port, 'admin');
  t.teardown(() => admin.close());
  const created = await admin.request(ApiKey.CreateTopics, 5, {
    topics: ['orders', 'logs-a', 'logs-b', 'secret'].map((name) => ({ name, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] })),
    timeoutMs: 10_000,
  });
  t.same(created.topics.map((x: { errorCode: number }) => x.errorCode), [0, 0, 0, 0], 'the super user creates four topics without any ACL');

  const acls = await admin.request(ApiKey.CreateAcls, 3, {
    creations: [
      binding({ operation: Op.WRITE }),
      binding({ resourceName: 'logs-', resourcePatternType: Pat.PREFIXED }),
      binding({ resourceName: 'logs-b', permissionType: Perm.DENY }),
      binding({ resourceName: 'auto-', resourcePatternType: Pat.PREFIXED, operation: Op.WRITE }),
      binding({ resourceType: Res.CLUSTER, resourceName: 'wrong-name' }),
    ],
  });
  t.same(acls.results.map((r: { errorCode: number }) => r.errorCode), [0, 0, 0, 0, ErrorCode.INVALID_REQUEST], 'four ACLs stored, an invalid one refused');

  const alice = await login(port, 'alice');
  t.teardown(() => alice.close());

  await t.test('a user with WRITE only cannot read', async (t) => {
    t.equal(await produce(alice, 'orders'), ErrorCode.NONE, 'alice writes to orders');
    t.equal(await fetch(alice, 'orders'), ErrorCode.TOPIC_AUTHORIZATION_FAILED, 'but cannot read it');
    t.equal(await produce(alice, 'secret'), ErrorCode.TOPIC_AUTHORIZATION_FAILED, 'and cannot write where she has no ACL');
  });

  await t.test('a prefixed ACL grants a family of topics; a DENY beats it', async (t) => {
    t.equal(await fetch(alice, 'logs-a'), ErrorCode.NONE, 'logs-a is readable through the logs- prefix');
    t.equal(await fetch(alice, 'logs-b'), ErrorCode.TOPIC_AUTHORIZATION_FAILED, 'logs-b is denied although the prefix allows it');
    t.equal(await produce(alice, 'logs-a'), ErrorCode.TOPIC_AUTHORIZATION_FAILED, 'READ on the family does not give WRITE');
  });

  await t.test('auto-creating a topic by producing to it takes CREATE', async (t) => {
    t.equal(await produce(alice, 'auto-1'), ErrorCode.TOPIC_AUTHORIZATION_FAILED, 'WRITE on auto- alone does not create auto-1');
    t.same(await metadata(admin, ['auto-1']), [['auto-1', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]], 'and the topic does not exist');
    const grant = await admin.request(ApiKey.CreateAcls, 3, { creations: [binding({ resourceName: 'auto-', resourcePatternType: Pat.PREFIXED, operation: Op.CREATE })] });
    t.equal(grant.results[0].errorCode, ErrorCode.NONE, 'CREATE on auto- granted');
    t.equal(await produce(alice, 'auto-1'), ErrorCode.NONE, 'now the produce creates the topic and writes');
  });

  await t.test('Metadata hides what the user may not describe', async (t) => {
    t.same(await metadata(alice, null), [['auto-1', 0], ['logs-a', 0], ['logs-b', 0], ['orders', 0]], 'all topics: secret is hidden (READ and WRITE imply DESCRIBE)');
    t.same(await metadata(alice, ['secret', 'orders']), [['orders', 0], ['secret', ErrorCode.TOPIC_AUTHORIZATION_FAILED]], 'asked by name: TOPIC_AUTHORIZATION_FAILED');
    t.same(await metadata(admin, null), [['auto-1', 0], ['logs-a', 0], ['logs-b', 0], ['orders', 0], ['secret', 0]], 'the super user sees everything');
    const anonymous = await WireClient.connect(plainPort);
    t.same(await metadata(anonymous, null), [], 'an anonymous client on the plaintext listener sees nothing');
    anonymous.close();
  });

  await t.test('ACL management needs ALTER/DESCRIBE on the cluster', async (t) => {
    const carol = await login(port, 'carol');
    const r = await carol.request(ApiKey.CreateAcls, 3, { creations: [binding({ principal: 'User:carol', operation: Op.ALL })] });
    t.equal(r.results[0].errorCode, ErrorCode.CLUSTER_AUTHORIZATION_FAILED, 'carol cannot grant herself anything');
    const d = await carol.request(ApiKey.DescribeAcls, 3, { resourceTypeFilter: Res.ANY, resourceNameFilter: null, patternTypeFilter: Pat.ANY, principalFilter: null, hostFilter: null, operation: Op.ANY, permissionType: Perm.ANY });
    t.equal(d.errorCode, ErrorCode.CLUSTER_AUTHORIZATION_FAILED, 'nor list the ACLs');
    const topics = await carol.request(ApiKey.CreateTopics, 5, { topics: [{ name: 'carols', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 5000 });
    t.equal(topics.topics[0].errorCode, ErrorCode.TOPIC_AUTHORIZATION_FAILED, 'nor create a topic');
    carol.close();
  });

  await t.test('DescribeAcls and DeleteAcls', async (t) => {
    const all = { resourceTypeFilter: Res.ANY, resourceNameFilter: null, patternTypeFilter: Pat.ANY, principalFilter: 'User:alice', hostFilter: null, operation: Op.ANY, permissionType: Perm.ANY };
    const d = await admin.request(ApiKey.DescribeAcls, 3, all);
    const listed = d.resources.flatMap((r: { resourceName: string; patternType: number; acls: { operation: number; permissionType: number }[] }) => r.acls.map((a) => [r.resourceName, r.patternType, a.operation, a.permissionType])).sort();
    t.same(listed, [
      ['auto-', Pat.PREFIXED, Op.WRITE, Perm.ALLOW], ['auto-', Pat.PREFIXED, Op.CREATE, Perm.ALLOW], ['logs-', Pat.PREFIXED, Op.READ, Perm.ALLOW],
      ['logs-b', Pat.LITERAL, Op.READ, Perm.DENY], ['orders', Pat.LITERAL, Op.WRITE, Perm.ALLOW],
    ], 'alice\'s five ACLs');
    const del = await admin.request(ApiKey.DeleteAcls, 3, { filters: [{ ...all, permissionType: Perm.DENY }] });
    t.equal(del.filterResults[0].matchingAcls.length, 1, 'the DENY is deleted');
    t.equal(await fetch(alice, 'logs-b'), ErrorCode.NONE, 'and alice can read logs-b now');
  });

  await t.test('ACLs survive a killed broker (they are in the metadata log)', async (t) => {
    admin.close();
    alice.close();
    await broker.kill('SIGKILL');
    await broker.restart();
    const again = await login(port, 'alice');
    t.teardown(() => again.close());
    t.equal(await produce(again, 'orders'), ErrorCode.NONE, 'alice still writes to orders');
    t.equal(await fetch(again, 'orders'), ErrorCode.TOPIC_AUTHORIZATION_FAILED, 'and still cannot read it');
    t.equal(await fetch(again, 'logs-b'), ErrorCode.NONE, 'the deleted DENY stays deleted');
  });

  await t.test('kafkajs reports the authorization errors', async (t) => {
    const kafka = new Kafka({ clientId: 'acl-test', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 0 }, sasl: { mechanism: 'plain', username: 'alice', password: USERS.alice } });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: 'orders', messages: [{ value: 'kafkajs' }] });
    t.pass('kafkajs as alice writes to orders');
    const refused = await producer.send({ topic: 'secret', messages: [{ value: 'x' }] }).then(() => 'sent', (e: Error) => e.message);
    t.match(refused, /[Nn]ot authorized/, `writing to secret is refused: ${refused}`);
    await producer.disconnect();
  });
});
