/**
 * A partition worker: owns the logs of the partitions that hash to it for the life of the
 * process. It drains produce/fetch/list-offsets parts from its request ring, serves them from
 * its LogManager (appends join the manager's group commit) and answers on its response ring.
 * Each partition's replication (role, ISR, high watermark, acks=all purgatory) is decided by
 * its PartitionReplica (replication/partition-replica.ts), a pure state machine; the replica
 * manager (replica-manager.ts) feeds them the log's and the metadata's events, sends what they
 * release, and runs one replica fetcher per leader broker for the partitions followed here.
 *
 * Fetched bytes are copied through the response ring rather than read by the main thread from
 * a file position the worker hands over. bench/fetch-path.ts measured both on a 2-core VM
 * (page-cached data, bytes ending in a main-thread Buffer): at 16 KiB per fetch part the ring
 * moved 1.29 GB/s at 1.35 CPU-s/GB of main thread against 0.10 GB/s at 7.5 CPU-s/GB for the
 * file read (one thread-pool hop per read); at 256 KiB 3.31 against 1.43 GB/s; only at 1 MiB
 * did the file read cost the main thread less (0.28 against 0.50 CPU-s/GB) at equal speed.
 * Fetch parts are mostly far below 1 MiB, and the main thread must never wait on the disk.
 *
 * Long-poll: a fetch part sent with `watch` registers a watch on its partition. A follower's
 * watch fires on the next write there, a consumer's when the high watermark moves; the worker
 * then sends WAKE for the request and drops the request's watches.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { childLogger } from '../../shared/logger.js';
import { recordThreadStats } from '../../shared/metrics/thread-stats.js';
import { PartitionStats } from '../../shared/metrics/partition-stats.js';
import { ErrorCode } from '../../shared/errors.js';
import { leaderEpochError } from '../../shared/leader-epoch.js';
import { RingConsumer, RingProducer } from '../../shared/ring.js';
import { MsgType, readMessage, type FetchMsg, type ListOffsetsMsg, type ListOffsetsResultMsg, type ProduceMsg, type ProduceResultMsg, type ThreadMessage } from '../../shared/thread-messages.js';
import { Outbox } from '../../shared/outbox.js';
import type { ActiveProducer, LogDescription, PartitionWorkerData, WorkerControl, WorkerEvent } from '../../shared/worker-types.js';
import { partitionOwner } from '../../shared/partition-owner.js';
import { METADATA_TOPIC } from '../../shared/topic-name.js';
import { LogManager } from './log/log-manager.js';
import type { AppendResult, PartitionLog } from './log/partition-log.js';
import type { CleanResult } from '../../shared/clean-task.js';
import type { CleanerRunner } from './log/cleaner/log-cleaner.js';
import { PartitionReplica, type Released } from './replication/partition-replica.js';
import { ReplicaManager } from './replica-manager.js';


const data = workerData as PartitionWorkerData;
recordThreadStats(data.threadStats, 2 + data.index);
const log = childLogger({ thread: `partition-worker-${data.index}` });
const stats = new PartitionStats(data.partitionStats, data.index);
const port = parentPort!;
const outbox = new Outbox(new RingProducer(data.responses));
const requests = new RingConsumer(data.requests);
const EMPTY = Buffer.alloc(0);

/** An acks=all produce waiting for the in-sync replicas: its answer, and its timeout. */
interface PendingAck {
  msg: ProduceMsg;
  result: ProduceResultMsg;
  /** When the worker took the produce up, and the append's own timings. */
  receivedAt: number;
  append: AppendResult;
  timer: NodeJS.Timeout | undefined;
}

let manager: LogManager;
let outboxLimit = 0;
const replicas = new ReplicaManager<PendingAck>({
  data,
  log,
  stats,
  logs: () => manager,
  answer: (r) => answer(r),
  send: (m) => outbox.send(m),
  post: (e) => post(e),
});

function post(e: WorkerEvent): void {
  port.postMessage(e);
}

/**
 * The log of a partition this worker leads, for a request meant for leader epoch `requestEpoch`
 * (-1: any), or the error to answer: only the epoch metadata gave this worker is served.
 */
function leaderLog(topic: string, partition: number, requestEpoch: number): { l: PartitionLog; rep: PartitionReplica<PendingAck> } | number {
  const l = manager.get(topic, partition);
  if (!l) return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
  const rep = replicas.get(topic, partition);
  if (!rep?.isLeader) return ErrorCode.NOT_LEADER_OR_FOLLOWER;
  const epochError = leaderEpochError(rep.leaderEpoch, requestEpoch);
  if (epochError !== ErrorCode.NONE) return epochError;
  if (l.offline) return ErrorCode.KAFKA_STORAGE_ERROR;
  return { l, rep };
}

function produceResult(m: ProduceMsg, error: number, baseOffset = -1, logStartOffset = -1, logAppendTime = -1): ProduceResultMsg {
  return { type: MsgType.PRODUCE_RESULT, req: m.req, part: m.part, error, baseOffset, logAppendTime, logStartOffset, toWorkerUs: 0, localUs: 0, queuedUs: 0, syncUs: 0, remoteUs: 0 };
}

/** Microseconds between two performance.now() readings, 0 when the later one was never taken. */
function micros(from: number, to: number): number {
  return to > 0 ? Math.max(0, Math.round((to - from) * 1000)) : 0;
}

/** Where an append's time went (request-metrics.ts): taken up at `receivedAt`, sent on at `doneAt`. */
function attribute(result: ProduceResultMsg, m: ProduceMsg, receivedAt: number, r: AppendResult, doneAt: number): void {
  result.toWorkerUs = Math.max(0, Math.round((performance.timeOrigin + receivedAt - m.sentAt!) * 1000));
  result.localUs = micros(receivedAt, r.writtenAt);
  result.queuedUs = r.syncStartAt > 0 ? micros(r.writtenAt, r.syncStartAt) : 0;
  result.syncUs = r.durableAt > 0 ? micros(r.syncStartAt, r.durableAt) : 0;
  // Written, in write-caching mode, is as far as the local append goes before the ISR wait.
  const localDone = r.durableAt > 0 ? r.durableAt : r.writtenAt;
  result.remoteUs = localDone > 0 ? micros(localDone, doneAt) : 0;
}

/** Sends what the replication state machine released: the write's own answer, or its error. */
function answer(r: Released<PendingAck>): void {
  const p = r.payload;
  if (p.timer) clearTimeout(p.timer);
  if (r.error !== ErrorCode.NONE) return outbox.send(produceResult(p.msg, r.error));
  attribute(p.result, p.msg, p.receivedAt, p.append, performance.now());
  outbox.send(p.result);
}

function produce(m: ProduceMsg): void {
  const receivedAt = performance.now();
  const found = leaderLog(m.topic, m.partition, m.leaderEpoch);
  if (typeof found === 'number') {
    if (m.acks !== 0) outbox.send(produceResult(m, found));
    return;
  }
  const { l, rep } = found;
  const acks = m.acks === 0 ? 0 : m.acks === 1 ? 1 : -1;
  const refused = rep.produceError(acks);
  if (refused !== ErrorCode.NONE) {
    outbox.send(produceResult(m, refused));
    return;
  }
  const leadership = rep.leadership;
  void manager.append(l, m.records as Buffer, { acks, leaderEpoch: rep.leaderEpoch, markers: m.markers }).then((r) => {
    if (acks === 0) return;
    const result = produceResult(m, r.errorCode, r.errorCode === ErrorCode.NONE ? r.baseOffset : -1, r.logStartOffset, r.logAppendTimeMs);
    result.errorMessage = r.errorMessage;
    if (acks === 1 || r.errorCode !== ErrorCode.NONE) {
      attribute(result, m, receivedAt, r, performance.now());
      outbox.send(result);
      return;
    }
    const pending: PendingAck = { msg: m, result, receivedAt, append: r, timer: undefined };
    const now = rep.appended(leadership, r.lastOffset, pending);
    if (now) return answer(now);
    pending.timer = setTimeout(() => {
      if (rep.expire(pending)) outbox.send(produceResult(m, ErrorCode.REQUEST_TIMED_OUT));
    }, Math.max(1, m.timeoutMs));
  });
}

function fetchResult(m: FetchMsg, error: number, hw = -1, logStartOffset = -1, records: Buffer = EMPTY) {
  return { type: MsgType.FETCH_RESULT, req: m.req, part: m.part, error, highWatermark: hw, logStartOffset, divergingEpoch: -1, divergingEndOffset: -1, records } as const;
}

function fetch(m: FetchMsg): void {
  const found = leaderLog(m.topic, m.partition, m.currentLeaderEpoch);
  if (typeof found === 'number') {
    outbox.send(fetchResult(m, found));
    return;
  }
  const { l, rep } = found;
  const follower = m.replicaId >= 0;
  let upper: number;
  if (follower) {
    const ans = rep.followerFetch(m.replicaId, m.offset, m.lastFetchedEpoch, l, (epoch) => l.endOffsetForEpoch(epoch), l.writtenEndOffset, Date.now());
    if (ans.kind === 'error') {
      outbox.send(fetchResult(m, ans.error));
      return;
    }
    if (ans.kind === 'diverging') {
      outbox.send({ ...fetchResult(m, ErrorCode.NONE, ans.highWatermark, l.logStartOffset), divergingEpoch: ans.epoch, divergingEndOffset: ans.endOffset });
      return;
    }
    replicas.settle(m.topic, m.partition, ans);
    if (!rep.isr.includes(m.replicaId)) replicas.outsiderFetched(m.topic, m.partition);
    upper = ans.upper;
  } else {
    const c = rep.consumerUpper();
    if (c.error !== ErrorCode.NONE) {
      outbox.send(fetchResult(m, c.error));
      return;
    }
    upper = c.upper;
  }
  const hw = rep.highWatermark;
  l.producers.highWatermarkReached(hw);
  const lso = l.producers.lastStableOffset(hw);
  if (m.readCommitted && !follower) upper = Math.min(upper, lso);
  if (m.watch) replicas.watch(m.req, m.topic, m.partition, follower);
  if (m.offset >= upper && m.offset <= l.logEndOffset) {
    outbox.send({ ...fetchResult(m, ErrorCode.NONE, hw, l.logStartOffset), lastStableOffset: lso });
    return;
  }
  const maxBytes = Math.min(Math.max(m.maxBytes, 0), outboxLimit);
  const aborted = m.readCommitted && !follower
    ? l.abortedTxns(m.offset, upper).map((a) => ({ producerId: a.producerId, firstOffset: a.firstOffset }))
    : undefined;
  void manager.read(l, m.offset, maxBytes, upper).then((r) => {
    const records = r.records.length > outboxLimit ? EMPTY : r.records;
    outbox.send({ ...fetchResult(m, r.errorCode, hw, r.logStartOffset, records), lastStableOffset: lso, abortedTransactions: aborted });
  });
}

function listOffsetsResult(m: ListOffsetsMsg, error: number, offset: number, timestamp: number, leaderEpoch: number): ListOffsetsResultMsg {
  return { type: MsgType.LIST_OFFSETS_RESULT, req: m.req, part: m.part, error, offset, timestamp, leaderEpoch };
}

function listOffsets(m: ListOffsetsMsg): void {
  const found = leaderLog(m.topic, m.partition, m.currentLeaderEpoch);
  const epoch = replicas.get(m.topic, m.partition)?.leaderEpoch ?? -1;
  const reply = (error: number, offset: number, timestamp: number): void => outbox.send(listOffsetsResult(m, error, offset, timestamp, epoch));
  if (typeof found === 'number') return reply(found, -1, -1);
  const { l, rep } = found;
  const notYet = rep.listOffsetsError();
  if (notYet !== ErrorCode.NONE) return reply(notYet, -1, -1);
  // read_committed sees nothing at or past the last stable offset.
  const hw = m.readCommitted ? l.producers.lastStableOffset(rep.highWatermark) : rep.highWatermark;
  if (m.timestamp === -1) return reply(0, hw, -1);
  if (m.timestamp === -2) return reply(0, l.logStartOffset, -1);
  if (m.timestamp === -3) {
    const t = l.maxTimestamp();
    return reply(0, t.offset, t.timestamp);
  }
  if (m.timestamp < 0) return reply(ErrorCode.INVALID_REQUEST, -1, -1);
  const at = l.offsetForTimestamp(m.timestamp);
  if (!at || at.offset >= hw) return reply(0, -1, -1);
  reply(0, at.offset, at.timestamp);
}

/**
 * Kafka's DeleteRecords on the leader: the log start offset moves up to `offset` (at most the
 * high watermark; -1 means the high watermark), the segments wholly below it go, and the
 * log-start-offset checkpoint is rewritten. Followers move theirs when their fetches carry it.
 */
async function deleteRecords(topic: string, partition: number, offset: number): Promise<{ errorCode: number; lowWatermark: number }> {
  const found = leaderLog(topic, partition, -1);
  if (typeof found === 'number') return { errorCode: found, lowWatermark: -1 };
  const { l, rep } = found;
  const hw = rep.highWatermark;
  const target = offset === -1 ? hw : offset;
  if (target < 0 || target > hw) return { errorCode: ErrorCode.OFFSET_OUT_OF_RANGE, lowWatermark: -1 };
  try {
    await l.deleteRecordsBefore(target);
  } catch (err) {
    log.error({ err, log: l.name, offset: target }, 'delete records failed');
    return { errorCode: ErrorCode.KAFKA_STORAGE_ERROR, lowWatermark: -1 };
  }
  log.info({ log: l.name, logStartOffset: l.logStartOffset }, 'records deleted');
  return { errorCode: ErrorCode.NONE, lowWatermark: l.logStartOffset };
}

/** Kafka answers DescribeProducers from the leader's log only. */
function describeProducers(topic: string, partition: number): { errorCode: number; producers: ActiveProducer[] } {
  const found = leaderLog(topic, partition, -1);
  if (typeof found === 'number') return { errorCode: found, producers: [] };
  return { errorCode: ErrorCode.NONE, producers: found.l.producers.active() };
}

function describeLogs(): LogDescription[] {
  return [...manager.all()].map((l) => {
    const hw = replicas.get(l.topic, l.partition)?.highWatermark ?? l.logEndOffset;
    return { topic: l.topic, partition: l.partition, size: l.segments.reduce((sum, s) => sum + s.size, 0), offsetLag: Math.max(0, hw - l.logEndOffset) };
  });
}

/** Cleanings sent to the cleaner pool, waiting for its answer, by id. */
const cleanings = new Map<number, { resolve: (r: CleanResult) => void; reject: (e: Error) => void }>();
let nextCleaning = 1;

/** Cleanings run in the main thread's cleaner pool, shared by every partition worker. */
const cleanerRunner: CleanerRunner = {
  clean(task) {
    const id = nextCleaning++;
    return new Promise((resolve, reject) => {
      cleanings.set(id, { resolve, reject });
      post({ type: 'clean', id, task });
    });
  },
};

function cleaned(id: number, result: CleanResult | null, error: string | null): void {
  const c = cleanings.get(id);
  cleanings.delete(id);
  if (result) c?.resolve(result);
  else c?.reject(new Error(error ?? 'cleaning failed'));
}

async function main(): Promise<void> {
  manager = await LogManager.open({
    dir: data.logDir,
    config: data.logConfig,
    logger: log,
    maxOpenFiles: data.maxOpenFiles,
    cleanShutdown: data.cleanShutdown,
    commitStats: { round: (bytes) => stats.roundBytes.record(bytes), fdatasync: (us) => stats.fdatasyncUs.record(us) },
    owns: (topic: string, partition: number) => topic !== METADATA_TOPIC && partitionOwner(topic, partition, data.workers) === data.index,
    cleaner: data.cleaner === null ? undefined : {
      runner: cleanerRunner,
      backoffMs: data.cleaner.backoffMs,
      offsetMapBytes: data.cleaner.offsetMapBytes,
      highWatermark: (l) => replicas.get(l.topic, l.partition)?.highWatermark ?? l.logEndOffset,
    },
    highWatermarks: {
      intervalMs: data.highWatermarkCheckpointIntervalMs,
      current: (l) => replicas.get(l.topic, l.partition)?.knownHighWatermark,
    },
  });
  outboxLimit = new RingProducer(data.responses).maxMessage - 64;
  manager.onAppend((l) => replicas.onWritten(l));
  manager.onDurable((l) => replicas.onDurable(l));
  const isrTimer = setInterval(() => replicas.checkIsr(), Math.max(100, Math.min(1000, data.replicaLagTimeMaxMs / 3)));
  let controlChain = Promise.resolve();
  port.on('message', (c: WorkerControl) => {
    // Not queued behind other control messages: a shutdown waits for the cleaning in progress.
    if (c.type === 'cleaned') return cleaned(c.id, c.result, c.error);
    controlChain = controlChain
      .then(async () => {
        if (c.type === 'hosted') {
          post({ type: 'hosted-applied', failed: await replicas.applyHosted(c.partitions, c.deletedTopics, c.brokers) });
        } else if (c.type === 'delete-records') {
          post({ type: 'delete-records-result', id: c.id, ...(await deleteRecords(c.topic, c.partition, c.offset)) });
        } else if (c.type === 'describe-producers') {
          post({ type: 'producers-described', id: c.id, ...describeProducers(c.topic, c.partition) });
        } else if (c.type === 'describe-logs') {
          post({ type: 'logs-described', id: c.id, logs: describeLogs() });
        } else if (c.type === 'alter-isr-refused') {
          replicas.isrChangeRefused(c.topicId, c.partition, c.leaderEpoch, c.partitionEpoch, c.errorCode);
        } else if (c.type === 'shutdown') {
          clearInterval(isrTimer);
          replicas.stop();
          requests.stop();
          await manager.close();
          post({ type: 'stopped' });
          port.close();
        }
      })
      .catch((e: Error) => {
        log.error({ err: e.message, stack: e.stack }, 'control message failed');
        post({ type: 'fatal', message: e.message });
      });
  });
  post({ type: 'ready', partitions: [...manager.all()].length });
  await requests.run(serve);
}

/**
 * One request part from the ring. A part that throws is answered with UNKNOWN_SERVER_ERROR
 * and logged; the ring goes on to the next: a throw out of the drain would leave every later
 * request of this worker unread, with the broker still taking them.
 */
function serve(bytes: Uint8Array, view: DataView, at: number): void {
  let m: ThreadMessage | undefined;
  try {
    m = readMessage(bytes, view, at);
    switch (m.type) {
      case MsgType.PRODUCE:
        return produce(m);
      case MsgType.FETCH:
        return fetch(m);
      case MsgType.LIST_OFFSETS:
        return listOffsets(m);
      case MsgType.UNWATCH:
        return replicas.unwatch(m.req);
      default:
        log.error({ type: m.type }, 'unexpected message on request ring');
    }
  } catch (e) {
    const err = e as Error;
    log.error({ err: err.message, stack: err.stack, type: m?.type }, 'request part failed');
    if (m?.type === MsgType.PRODUCE && m.acks !== 0) outbox.send(produceResult(m, ErrorCode.UNKNOWN_SERVER_ERROR));
    else if (m?.type === MsgType.FETCH) outbox.send(fetchResult(m, ErrorCode.UNKNOWN_SERVER_ERROR));
    else if (m?.type === MsgType.LIST_OFFSETS) outbox.send(listOffsetsResult(m, ErrorCode.UNKNOWN_SERVER_ERROR, -1, -1, -1));
  }
}

main().catch((e: Error) => {
  log.error({ err: e.message, stack: e.stack }, 'partition worker failed');
  post({ type: 'fatal', message: e.message });
  // A worker that no longer serves its ring must not look alive: its exit is a crash the
  // broker handles (partition-workers.ts).
  process.exit(1);
});
