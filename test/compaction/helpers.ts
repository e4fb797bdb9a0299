/**
 * What the compaction tests share: a compacted topic made with CreateTopics, keyed records
 * produced with the project's wire client (fast enough for 100,000 updates), the broker's
 * "log cleaned" lines, and the expected contents of a compacted partition.
 */
import { ErrorCode } from '../../src/shared/errors.js';
import { ApiKey } from '../../src/shared/protocol/generated/api-keys.js';
import { buildRecordBatch } from '../../src/shared/record-batch.js';
import type { ReadRecord, WireClient } from '../clients/wire-client.js';

export async function createTopic(client: WireClient, name: string, configs: Record<string, string | number>, partitions = 1): Promise<void> {
  const r = await client.request(ApiKey.CreateTopics, 7, {
    topics: [{ name, numPartitions: partitions, replicationFactor: 1, assignments: [], configs: Object.entries(configs).map(([k, v]) => ({ name: k, value: String(v) })) }],
    timeoutMs: 15_000,
    validateOnly: false,
  });
  if (r.topics[0].errorCode !== ErrorCode.NONE) throw new Error(`CreateTopics ${name}: error ${r.topics[0].errorCode} ${r.topics[0].errorMessage}`);
}

export interface Update {
  key: string;
  /** null: a tombstone. */
  value: string | null;
}

/**
 * Produces `updates` to partition 0 in batches of `perBatch` (acks=1, up to `inFlight`
 * requests at once), the last batch stamped `lastTimestamp` when given. Resolves with each
 * update's offset.
 */
export async function produce(client: WireClient, topic: string, updates: Update[], opts: { perBatch?: number; inFlight?: number; lastTimestamp?: number } = {}): Promise<number[]> {
  const perBatch = opts.perBatch ?? 500;
  const offsets = new Array<number>(updates.length);
  const batches: Array<{ from: number; records: Buffer }> = [];
  for (let from = 0; from < updates.length; from += perBatch) {
    const slice = updates.slice(from, from + perBatch);
    const last = from + perBatch >= updates.length;
    batches.push({
      from,
      records: buildRecordBatch({
        firstTimestamp: last && opts.lastTimestamp !== undefined ? opts.lastTimestamp : Date.now(),
        records: slice.map((u) => ({ key: Buffer.from(u.key), value: u.value === null ? null : Buffer.from(u.value) })),
      }),
    });
  }
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < batches.length) {
      const b = batches[next++]!;
      const r = await client.request(ApiKey.Produce, 9, { transactionalId: null, acks: 1, timeoutMs: 10_000, topicData: [{ name: topic, partitionData: [{ index: 0, records: b.records }] }] });
      const p = r.responses[0].partitionResponses[0];
      if (p.errorCode !== ErrorCode.NONE) throw new Error(`produce to ${topic}: error ${p.errorCode}`);
      const n = Math.min(perBatch, updates.length - b.from);
      for (let i = 0; i < n; i++) offsets[b.from + i] = Number(p.baseOffset) + i;
    }
  };
  await Promise.all(Array.from({ length: opts.inFlight ?? 4 }, worker));
  return offsets;
}

/** Per key, the update a compacted log must keep: the latest, at its offset. */
export function latestByKey(updates: Update[], offsets: number[]): Map<string, { offset: number; value: string | null }> {
  const latest = new Map<string, { offset: number; value: string | null }>();
  updates.forEach((u, i) => latest.set(u.key, { offset: offsets[i]!, value: u.value }));
  return latest;
}

/** The records read back as comparable rows, in log order. */
export function rows(records: ReadRecord[]): Array<{ offset: number; key: string; value: string | null }> {
  return records.map((r) => ({ offset: r.offset, key: r.key?.toString() ?? '', value: r.value === null ? null : r.value.toString() }));
}

/** The "log cleaned" lines the broker logged (LOG_LEVEL=info, JSON), parsed. */
export function cleanings(output: string): Array<{ log: string; nextDirtyOffset: number; recordsKept: number; records: number }> {
  return output
    .split('\n')
    .filter((l) => l.includes('"log cleaned"'))
    .map((l) => JSON.parse(l) as { log: string; nextDirtyOffset: number; recordsKept: number; records: number });
}
