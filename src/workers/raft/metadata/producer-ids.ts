/**
 * AllocateProducerIds: a registered broker asks for a block of PRODUCER_ID_BLOCK_SIZE ids at a
 * time and hands them out itself (Kafka's ProducerIdControlManager); the block is its own once
 * the ProducerIdsRecord commits.
 */
import { ErrorCode } from '../../../shared/errors.js';
import type { ProducerIdBlock } from '../../../shared/metadata-types.js';
import type { MetadataImage } from './image.js';
import type { Decision } from './records.js';

/** Producer ids per allocation, as Kafka's controller hands them out. */
export const PRODUCER_ID_BLOCK_SIZE = 1000;
/** Producer ids are int64 on the wire; this broker keeps them exact as numbers. */
const MAX_PRODUCER_ID = Number.MAX_SAFE_INTEGER;

export function decideAllocateProducerIds(image: MetadataImage, req: { brokerId: number; brokerEpoch: number }): Decision<ProducerIdBlock> {
  const refuse = (errorCode: number, errorMessage: string): Decision<ProducerIdBlock> => ({
    records: [],
    result: { errorCode, errorMessage, firstProducerId: -1, size: 0 },
  });
  const broker = image.brokers.get(req.brokerId);
  if (broker === undefined) return refuse(ErrorCode.BROKER_ID_NOT_REGISTERED, `Broker ${req.brokerId} is not registered.`);
  if (broker.epoch !== req.brokerEpoch) return refuse(ErrorCode.STALE_BROKER_EPOCH, 'Stale broker epoch.');
  const first = image.nextProducerId;
  if (first > MAX_PRODUCER_ID - PRODUCER_ID_BLOCK_SIZE) return refuse(ErrorCode.UNKNOWN_SERVER_ERROR, 'Producer ids are exhausted.');
  return {
    records: [{ type: 'producerIds', brokerId: req.brokerId, brokerEpoch: req.brokerEpoch, nextProducerId: first + PRODUCER_ID_BLOCK_SIZE }],
    result: { errorCode: ErrorCode.NONE, errorMessage: null, firstProducerId: first, size: PRODUCER_ID_BLOCK_SIZE },
  };
}
