/**
 * Kafka protocol codecs: bytes in, objects out, no sockets and no threads.
 * Message codecs are generated from Kafka's schemas by tools/gen-codecs.mjs.
 */
export * from './codec.js';
export * from './errors.js';
export * from './reader.js';
export * from './writer.js';
export * from './headers.js';
export * from './frames.js';
export * from './generated/index.js';
