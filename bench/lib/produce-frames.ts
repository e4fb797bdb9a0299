/**
 * Pre-built Produce requests, so sending costs no encoding: a record batch is built once
 * (uncompressed v2, no key, random values, producer id -1 so a broker accepts the same
 * bytes again and again) and placed in a whole Produce v9 frame that is copied as often as
 * requests are in flight at once. Only the correlation id changes between sends
 * (the connection writes it).
 */
import { randomBytes } from 'node:crypto';
import { encodeRequestFrame } from '../../src/shared/protocol/frames.js';
import { ApiKey } from '../../src/shared/protocol/generated/api-keys.js';
import { buildRecordBatch } from '../../src/shared/record-batch.js';

export const PRODUCE_VERSION = 9;

export function buildBatch(recordSize: number, records: number): Buffer {
  return buildRecordBatch({
    records: Array.from({ length: records }, () => ({ key: null, value: randomBytes(recordSize) })),
  });
}

/** A Produce frame carrying the same batch for each of the given partitions. */
export function buildProduceFrame(topic: string, partitions: number[], batch: Buffer, acks: number, timeoutMs: number): Buffer {
  const body = {
    transactionalId: null,
    acks,
    timeoutMs,
    topicData: [{ name: topic, partitionData: partitions.map((index) => ({ index, records: batch })) }],
  };
  return Buffer.concat(encodeRequestFrame(ApiKey.Produce, PRODUCE_VERSION, 0, 'bench-load', body));
}

/** Copies of one frame: one per request in flight, made only when all others are out. */
export class FramePool {
  private readonly free: Buffer[] = [];

  constructor(private readonly template: Buffer) {}

  take(): Buffer {
    return this.free.pop() ?? Buffer.from(this.template);
  }

  give(frame: Buffer): void {
    this.free.push(frame);
  }
}
