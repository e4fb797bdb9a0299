// A broker whose process runs out of file descriptors (its limit lowered under what it holds,
// with prlimit on the running process): CreateTopics and CreatePartitions answer
// POLICY_VIOLATION instead of success and the refused topic does not exist, while the
// partitions it already hosts keep serving produce and fetch. With descriptors back, topics
// are created again. A SIGTERM when the process has no descriptor to spare still closes every
// log cleanly (the file caches give up idle descriptors for the snapshots and checkpoints).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { ErrorCode } from '../../src/shared/errors.js';
import { ApiKey } from '../../src/shared/protocol/generated/api-keys.js';
import { buildRecordBatch } from '../../src/shared/record-batch.js';
import { hasCommand, startBroker, type BrokerProcess } from '../helpers/broker.js';
import { brokerTeardown, eventually } from './harness.js';
import { readPartition, WireClient } from './wire-client.js';

const PARTITIONS = 200;
/** Below what any broker process holds (stdio, epoll, pipes, sockets, the worker threads' own). */
const STARVED = 16;
const LIMIT = 4096;

function setLimit(b: BrokerProcess, n: number): void {
  execFileSync('prlimit', ['--pid', String(b.proc.pid), `--nofile=${n}:${LIMIT}`]);
}

function openDescriptors(b: BrokerProcess): number {
  return fs.readdirSync(`/proc/${b.proc.pid}/fd`).length;
}

async function createTopic(client: WireClient, name: string, partitions: number): Promise<{ errorCode: number; errorMessage: string | null }> {
  const res = await client.request(ApiKey.CreateTopics, 5, {
    topics: [{ name, numPartitions: partitions, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 30_000,
  });
  return res.topics[0];
}

async function topicExists(client: WireClient, name: string): Promise<boolean> {
  const md = await client.request(ApiKey.Metadata, 12, { topics: [{ name, topicId: 'AAAAAAAAAAAAAAAAAAAAAA' }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
  return md.topics[0].errorCode === ErrorCode.NONE;
}

/** One record to each partition of `topic` (acks=all); returns how many were refused. */
async function produceEach(client: WireClient, topic: string, value: string, partitions = PARTITIONS): Promise<number> {
  const partitionData = Array.from({ length: partitions }, (_, index) => ({ index, records: buildRecordBatch({ records: [{ value: Buffer.from(`${value}-${index}`) }] }) }));
  const res = await client.request(ApiKey.Produce, 9, { acks: -1, timeoutMs: 10_000, topicData: [{ name: topic, partitionData }] });
  return res.responses[0].partitionResponses.filter((p: { errorCode: number }) => p.errorCode !== ErrorCode.NONE).length;
}

async function valuesOf(client: WireClient, topic: string, partition: number): Promise<string[]> {
  return (await readPartition(client, topic, partition)).records.map((r) => r.value!.toString());
}

t.test('out of descriptors: new partitions refused with POLICY_VIOLATION, hosted ones keep serving, shutdown stays clean', { skip: !hasCommand('prlimit') && 'needs prlimit (util-linux)' }, async (t) => {
  const broker = await startBroker({ launcher: ['prlimit', `--nofile=${LIMIT}:${LIMIT}`], overrides: { 'num.partition.workers': 2 } });
  brokerTeardown(t, broker);
  const client = await WireClient.connect(broker.port);
  t.teardown(() => client.close());
  t.equal((await createTopic(client, 'kept', PARTITIONS)).errorCode, ErrorCode.NONE, 'a topic created while descriptors are plentiful');
  t.equal(await produceEach(client, 'kept', 'first'), 0, 'and written to');
  // The first write of an epoch also records the epoch, after the answer: wait for those files.
  await eventually('the leader epochs on disk', () =>
    Array.from({ length: PARTITIONS }, (_, p) => path.join(broker.dataDir, `kept-${p}`, 'leader-epoch-checkpoint')).every((f) => fs.existsSync(f)),
  );

  setLimit(broker, STARVED);
  const refused = await createTopic(client, 'refused', 10);
  t.equal(refused.errorCode, ErrorCode.POLICY_VIOLATION, 'CreateTopics is refused when no log can be opened');
  t.match(refused.errorMessage, /cannot open the logs of 10 partition\(s\) of topic 'refused' \(EMFILE.*the topic was not created/, refused.errorMessage ?? '');
  t.notOk(await topicExists(client, 'refused'), 'the refused topic does not exist');
  const grow = await client.request(ApiKey.CreatePartitions, 3, { topics: [{ name: 'kept', count: PARTITIONS + 5, assignments: null }], timeoutMs: 30_000, validateOnly: false });
  t.equal(grow.results[0].errorCode, ErrorCode.POLICY_VIOLATION, 'CreatePartitions is refused too');
  t.equal(await produceEach(client, 'kept', 'second'), 0, 'the hosted partitions still take writes');
  t.same(await valuesOf(client, 'kept', 7), ['first-7', 'second-7'], 'and serve reads');

  setLimit(broker, LIMIT);
  t.equal((await createTopic(client, 'later', 10)).errorCode, ErrorCode.NONE, 'with descriptors back, topics are created again');
  t.equal(await produceEach(client, 'kept', 'third', PARTITIONS + 5), 0, 'the partitions added while starved now take writes as well');
  t.same(await valuesOf(client, 'kept', PARTITIONS + 2), ['third-202'], 'including reads');

  setLimit(broker, openDescriptors(broker));
  t.equal(await broker.stop(30_000), 0, 'SIGTERM with no descriptor to spare: clean exit');
  t.notMatch(broker.output(), /offline|producer snapshot skipped/, 'no log went offline and every snapshot was written');
  await broker.restart();
  const again = await WireClient.connect(broker.port);
  t.teardown(() => again.close());
  t.same(await valuesOf(again, 'kept', 7), ['first-7', 'second-7', 'third-7'], 'everything is there after the restart');
  t.notOk(await topicExists(again, 'refused'), 'the refused topic stays gone');
});
