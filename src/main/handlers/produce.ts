/**
 * Produce: each partition's records go to the worker that owns the partition; the response
 * joins their results. acks=0 gets no response at all, as Kafka's broker does. Transactional
 * records are first verified with their transaction's coordinator, or added to their
 * transaction from Produce v12 on (KIP-890).
 */
import { TRANSACTIONAL_FLAG } from '../../shared/control-records.js';
import { ErrorCode } from '../../shared/errors.js';
import { BATCH_HEADER_SIZE } from '../../shared/record-batch.js';
import { MsgType, type ProduceResultMsg } from '../../shared/thread-messages.js';
import type { ProduceRequest } from '../../shared/protocol/generated/produce-request.js';
import { ensureTopics } from '../auto-create.js';
import type { BrokerContext } from '../context.js';
import { scatter, type Part } from '../scatter.js';
import { currentLeader, leaderEndpoints } from '../partition-leader.js';
import { produceError } from '../error-responses.js';
import type { RequestHeaderInfo } from '../../shared/protocol/headers.js';
import type { Connection } from '../connection.js';
import { attributeParts, type RequestTiming } from '../request-metrics.js';
import type { Encodable } from '../../shared/protocol/codec.js';
import type { ProduceResponse } from '../../shared/protocol/generated/produce-response.js';

interface Slot {
  topic: number;
  partition: number;
  part: number;
  error: number;
}

/** A partition this broker leads, with records to append unless a check refuses them. */
interface Candidate {
  slot: Slot;
  topic: string;
  partition: number;
  leaderEpoch: number;
  records: Buffer;
}

/** The producer of a transactional first batch (the record-batch.ts header layout); null for other records. */
function transactionalProducer(records: Buffer): { producerId: number; producerEpoch: number } | null {
  if (records.length < BATCH_HEADER_SIZE || (records.readInt16BE(21) & TRANSACTIONAL_FLAG) === 0) return null;
  return { producerId: Number(records.readBigInt64BE(43)), producerEpoch: records.readInt16BE(51) };
}

/**
 * Transactional records are checked against their transaction's coordinator first, or added
 * to the transaction (`add`, verification.ts); a partition that fails gets the error, the
 * others go ahead.
 */
async function verifyTransactional(ctx: BrokerContext, transactionalId: string | null, candidates: Candidate[], add: boolean): Promise<void> {
  const byProducer = new Map<string, { producerId: number; producerEpoch: number; parts: Candidate[] }>();
  for (const c of candidates) {
    const producer = transactionalProducer(c.records);
    if (producer === null) continue;
    if (transactionalId === null) {
      c.slot.error = ErrorCode.INVALID_TXN_STATE;
      continue;
    }
    const k = `${producer.producerId}/${producer.producerEpoch}`;
    const group = byProducer.get(k) ?? { ...producer, parts: [] };
    group.parts.push(c);
    byProducer.set(k, group);
  }
  await Promise.all([...byProducer.values()].map(async (g) => {
    const codes = await ctx.txnVerifier.verify(transactionalId!, g.producerId, g.producerEpoch, g.parts, add);
    g.parts.forEach((c, i) => {
      c.slot.error = codes[i]!;
    });
  }));
}

export async function handleProduce(ctx: BrokerContext, req: ProduceRequest, h: RequestHeaderInfo, conn: Connection, timing: RequestTiming): Promise<Encodable<ProduceResponse> | null> {
  const turn = conn.takeProduceTurn();
  try {
    return await produceInTurn(ctx, req, h, conn, timing, turn);
  } finally {
    turn.dispatched();
  }
}

async function produceInTurn(
  ctx: BrokerContext,
  req: ProduceRequest,
  h: RequestHeaderInfo,
  conn: Connection,
  timing: RequestTiming,
  turn: { ready: Promise<void>; dispatched: () => void },
): Promise<Encodable<ProduceResponse> | null> {
  const acks = req.acks;
  if (acks !== 0 && acks !== 1 && acks !== -1) return produceError(req, ErrorCode.INVALID_REQUIRED_ACKS);
  const unknown = req.topicData.filter((t) => !ctx.metadata.topic(t.name)).map((t) => t.name);
  const createErrors = unknown.length ? await ensureTopics(ctx, unknown) : new Map<string, number>();

  const candidates: Candidate[] = [];
  const slots: Slot[][] = req.topicData.map((t, ti) => {
    const topic = ctx.metadata.topic(t.name);
    return t.partitionData.map((p) => {
      const slot: Slot = { topic: ti, partition: p.index, part: -1, error: ErrorCode.NONE };
      const meta = topic?.partitions[p.index];
      if (!topic) slot.error = createErrors.get(t.name) ?? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
      else if (!meta) slot.error = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
      else if (meta.leader !== ctx.config.nodeId) slot.error = meta.leader < 0 ? ErrorCode.LEADER_NOT_AVAILABLE : ErrorCode.NOT_LEADER_OR_FOLLOWER;
      else if (p.records === null || p.records.length === 0) slot.error = ErrorCode.CORRUPT_MESSAGE;
      else candidates.push({ slot, topic: t.name, partition: p.index, leaderEpoch: meta.leaderEpoch, records: p.records });
      return slot;
    });
  });
  // From v12 a client of transactions v2 sends no AddPartitionsToTxn: the partition is added here.
  await verifyTransactional(ctx, req.transactionalId, candidates, h.apiVersion >= 12);
  await turn.ready;
  const parts: Part[] = [];
  for (const c of candidates) {
    if (c.slot.error !== ErrorCode.NONE) continue;
    c.slot.part = parts.length;
    parts.push({
      worker: ctx.workers.ownerOf(c.topic, c.partition),
      msg: { type: MsgType.PRODUCE, acks, topic: c.topic, partition: c.partition, leaderEpoch: c.leaderEpoch, timeoutMs: req.timeoutMs, records: c.records },
    });
  }
  if (acks === 0) {
    for (const p of parts) {
      ctx.workers.send(p.worker, { ...p.msg, req: 0, part: 0 } as never);
      if (p.msg.type === MsgType.PRODUCE) ctx.topicMetrics.appended(p.msg.topic, p.msg.records);
    }
    return null;
  }
  const answered = scatter<ProduceResultMsg>(ctx.workers, parts.filter((p) => p.worker >= 0));
  turn.dispatched();
  const results = await answered;
  attributeParts(timing, results);
  for (let i = 0; i < parts.length; i++) {
    const m = parts[i]!.msg;
    if (m.type === MsgType.PRODUCE && results[i]!.error === ErrorCode.NONE) ctx.topicMetrics.appended(m.topic, m.records);
  }
  const responses = req.topicData.map((t, ti) => ({
    name: t.name,
    partitionResponses: slots[ti]!.map((s) => {
      const r = s.part >= 0 ? results[s.part]! : undefined;
      const errorCode = r ? clientError(r.error) : s.error;
      return {
        index: s.partition,
        errorCode,
        baseOffset: r && r.error === ErrorCode.NONE ? r.baseOffset : -1,
        logAppendTimeMs: r ? r.logAppendTime : -1,
        logStartOffset: r ? r.logStartOffset : -1,
        recordErrors: [],
        errorMessage: r?.errorMessage ?? null,
        currentLeader: currentLeader(errorCode, ctx.metadata.partition(t.name, s.partition)),
      };
    }),
  }));
  const named = responses.flatMap((t) => t.partitionResponses.map((p) => p.currentLeader));
  return { throttleTimeMs: 0, responses, nodeEndpoints: leaderEndpoints(named, (id) => ctx.metadata.endpoint(id, conn.listener)) };
}

/**
 * Produce names no leader epoch on the wire; the worker refuses a write routed by metadata
 * whose leader epoch differs from the one it leads at. To a client that is a leadership in
 * motion: NOT_LEADER_OR_FOLLOWER, which every client retries after a metadata refresh (as
 * Kafka's broker answers when it does not lead), where librdkafka fails a Produce outright on
 * the epoch codes.
 */
function clientError(workerError: number): number {
  return workerError === ErrorCode.FENCED_LEADER_EPOCH || workerError === ErrorCode.UNKNOWN_LEADER_EPOCH
    ? ErrorCode.NOT_LEADER_OR_FOLLOWER
    : workerError;
}
