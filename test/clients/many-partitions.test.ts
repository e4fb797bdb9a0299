// One broker process holds 25,000 partitions (20 topics of 1,000 and one of 5,000) under an
// open-file limit of 20,000, which is less than one descriptor per partition: every partition
// takes a produce and serves it back, the broker survives SIGTERM and SIGKILL with every
// acknowledged record, and its descriptor count stays within the file caches' budget.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import t from 'tap';
import { ErrorCode } from '../../src/shared/errors.js';
import { ApiKey } from '../../src/shared/protocol/generated/api-keys.js';
import { buildRecordBatch } from '../../src/shared/record-batch.js';
import { logFileBudget } from '../../src/main/open-file-limit.js';
import { startBroker, type BrokerProcess } from '../helpers/broker.js';
import { brokerTeardown, eventually } from './harness.js';
import { parseRecordSet, WireClient } from './wire-client.js';

const LIMIT = 20_000;
const WORKERS = 2;
const TOPICS = [...Array.from({ length: 20 }, (_, i) => ({ name: `many-${String(i).padStart(2, '0')}`, partitions: 1000 })), { name: 'many-big', partitions: 5000 }];
const TOTAL = TOPICS.reduce((n, tp) => n + tp.partitions, 0);
/** Partitions per Produce or Fetch request. */
const PER_REQUEST = 1000;
/** Requests in flight at once. */
const PARALLEL = 4;

interface Slice {
  topic: string;
  from: number;
  to: number;
}

function slices(): Slice[] {
  const out: Slice[] = [];
  for (const tp of TOPICS) for (let p = 0; p < tp.partitions; p += PER_REQUEST) out.push({ topic: tp.name, from: p, to: Math.min(tp.partitions, p + PER_REQUEST) });
  return out;
}

async function inParallel<T>(items: T[], fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: PARALLEL }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}

const value = (topic: string, p: number, gen: number): string => `${topic}/${p}/gen${gen}`;

function openDescriptors(pid: number): number {
  return fs.readdirSync(`/proc/${pid}/fd`).length;
}

/** Samples the broker's descriptor count every 50 ms; `stop` returns the largest seen. */
function watchDescriptors(b: BrokerProcess): { stop(): number } {
  let max = 0;
  const sample = (): void => {
    try {
      max = Math.max(max, openDescriptors(b.proc.pid!));
    } catch {
      // the process is between lives
    }
  };
  const timer = setInterval(sample, 50);
  return {
    stop() {
      clearInterval(timer);
      sample();
      return max;
    },
  };
}

async function produceAll(client: WireClient, gen: number): Promise<number> {
  let failed = 0;
  await inParallel(slices(), async (s) => {
    const partitionData = [];
    for (let p = s.from; p < s.to; p++) partitionData.push({ index: p, records: buildRecordBatch({ records: [{ value: Buffer.from(value(s.topic, p, gen)) }] }) });
    const res = await client.request(ApiKey.Produce, 9, { acks: -1, timeoutMs: 30_000, topicData: [{ name: s.topic, partitionData }] });
    for (const pr of res.responses[0].partitionResponses) if (pr.errorCode !== ErrorCode.NONE) failed++;
  });
  return failed;
}

/** Fetches every partition from offset 0; returns how many do not hold exactly generations 1..gens. */
async function checkAll(client: WireClient, gens: number): Promise<{ wrong: number; first?: string }> {
  let wrong = 0;
  let first: string | undefined;
  await inParallel(slices(), async (s) => {
    const partitions = [];
    for (let p = s.from; p < s.to; p++) partitions.push({ partition: p, currentLeaderEpoch: -1, fetchOffset: 0, lastFetchedEpoch: -1, logStartOffset: -1, partitionMaxBytes: 4096 });
    const res = await client.request(ApiKey.Fetch, 12, {
      replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 64 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
      topics: [{ topic: s.topic, partitions }], forgottenTopicsData: [], rackId: '',
    });
    for (const pr of res.responses[0].partitions) {
      const got = pr.records ? parseRecordSet(pr.records).map((r) => r.value?.toString()) : [];
      const want = Array.from({ length: gens }, (_, g) => value(s.topic, pr.partitionIndex, g + 1));
      if (pr.errorCode !== ErrorCode.NONE || JSON.stringify(got) !== JSON.stringify(want)) {
        wrong++;
        first ??= `${s.topic}-${pr.partitionIndex}: error ${pr.errorCode}, records ${JSON.stringify(got)}`;
      }
    }
  });
  return { wrong, first };
}

async function partitionsInMetadata(client: WireClient): Promise<number> {
  const md = await client.request(ApiKey.Metadata, 12, { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
  let n = 0;
  for (const tp of md.topics) if (tp.name.startsWith('many-')) n += tp.partitions.filter((p: { errorCode: number; leaderId: number }) => p.errorCode === 0 && p.leaderId >= 0).length;
  return n;
}

/** After a start: every partition listed with a leader, and readable. */
async function waitServing(b: BrokerProcess, gens: number, started: number): Promise<{ client: WireClient; ms: number }> {
  const client = await WireClient.connect(b.port);
  try {
    await eventually('every partition in Metadata', async () => (await partitionsInMetadata(client)) === TOTAL, 120_000);
    await eventually('every partition readable', async () => (await checkAll(client, gens)).wrong === 0, 60_000);
  } catch (e) {
    // Whether the broker process was still there tells a broker that closed the connection
    // from one that died under it.
    const state = b.proc.exitCode !== null || b.proc.signalCode !== null ? `exited (${b.proc.exitCode ?? b.proc.signalCode})` : 'still running';
    throw new Error(`${(e as Error).message}; the broker process is ${state}, ${openDescriptorsOrNone(b)} descriptors open`);
  }
  return { client, ms: Date.now() - started };
}

function openDescriptorsOrNone(b: BrokerProcess): string {
  try {
    return String(openDescriptors(b.proc.pid!));
  } catch {
    return 'no';
  }
}

t.test(`one broker holds ${TOTAL} partitions under an open-file limit of ${LIMIT}`, async (t) => {
  const testStart = Date.now();
  const broker = await startBroker({
    launcher: ['prlimit', `--nofile=${LIMIT}:${LIMIT}`],
    overrides: { 'num.partition.workers': WORKERS },
  });
  brokerTeardown(t, broker);
  const budget = WORKERS * logFileBudget(LIMIT, WORKERS);
  let fds = watchDescriptors(broker);

  let client = await WireClient.connect(broker.port);
  let created = 0;
  await inParallel(TOPICS.map((tp) => tp), async (tp) => {
    const res = await client.request(ApiKey.CreateTopics, 5, {
      topics: [{ name: tp.name, numPartitions: tp.partitions, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 120_000,
    });
    if (res.topics[0].errorCode === ErrorCode.NONE) created++;
  });
  t.equal(created, TOPICS.length, 'every topic created');
  const createdAt = Date.now();
  await eventually('every partition in Metadata', async () => (await partitionsInMetadata(client)) === TOTAL, 60_000);
  t.equal(await produceAll(client, 1), 0, `a produce (acks=all) to each of ${TOTAL} partitions succeeds`);
  const producedAt = Date.now();
  const first = await checkAll(client, 1);
  t.equal(first.wrong, 0, `a fetch from each partition returns its record ${first.first ?? ''}`);
  const fetchedAt = Date.now();
  client.close();

  t.equal(await broker.stop(120_000), 0, 'SIGTERM: clean exit');
  const stoppedAt = Date.now();
  let maxFds = fds.stop();
  t.ok(maxFds < LIMIT, `descriptors stayed under the limit (${maxFds} at most)`);

  fds = watchDescriptors(broker);
  const restartedAt = Date.now();
  await broker.restart();
  let served = await waitServing(broker, 1, restartedAt);
  client = served.client;
  const cleanRestartMs = served.ms;
  t.pass(`after SIGTERM and a restart every partition serves its record (${cleanRestartMs} ms to serve all)`);
  t.equal(await produceAll(client, 2), 0, 'a second produce to each partition succeeds');
  client.close();

  await broker.kill('SIGKILL');
  const killedAt = Date.now();
  await broker.restart();
  served = await waitServing(broker, 2, killedAt);
  client = served.client;
  const crashRestartMs = served.ms;
  t.pass(`after SIGKILL and a restart every acknowledged record is back (${crashRestartMs} ms to serve all)`);
  client.close();
  maxFds = Math.max(maxFds, fds.stop());
  t.ok(maxFds <= budget + 512, `descriptors stayed within the file caches' budget of ${budget} plus the reserve in use (${maxFds} at most)`);
  t.equal(await broker.stop(120_000), 0, 'SIGTERM: clean exit');
  t.notMatch(broker.output(), /EMFILE|ENFILE|offline/, 'no descriptor error and no log offline');
  const removing = Date.now();
  // rm(1) unlinks the 100,000 files several times faster than fs.rmSync, which the teardown would use.
  execFileSync('rm', ['-rf', broker.dataDir]);
  t.comment(
    `data dir removed in ${Date.now() - removing} ms; timings (ms): create ${createdAt - testStart}, produce ${producedAt - createdAt}, fetch ${fetchedAt - producedAt}, ` +
      `SIGTERM ${stoppedAt - fetchedAt}, clean restart ${cleanRestartMs}, crash restart ${crashRestartMs}, total ${Date.now() - testStart}`,
  );
});
