/**
 * Whole frames: int32 size (of what follows), header, body.
 *
 * The result is a list of chunks for writev/cork: record data passed as Buffers stays
 * where it is (see writer.ts). Passing a long-lived Writer lets many frames share its
 * allocations; each call takes only the chunks it wrote.
 */
import { requestCodecs, responseCodecs } from './generated/codecs.js';
import { ProtocolEncodeError } from './errors.js';
import { encodeRequestHeader, encodeResponseHeader } from './headers.js';
import { Writer } from './writer.js';

function encodeFrame(w: Writer, writeHeaderAndBody: () => void): Buffer[] {
  if (w.length !== 0) throw new ProtocolEncodeError('writer holds unfinished output; a frame must start a fresh chunk list');
  try {
    w.int32(0);
    writeHeaderAndBody();
  } catch (err) {
    w.finish();
    throw err;
  }
  const chunks = w.finish();
  let size = -4;
  for (const c of chunks) size += c.length;
  chunks[0]!.writeInt32BE(size, 0);
  return chunks;
}

/** A request frame; body is the encodable value of the API's request message. */
export function encodeRequestFrame(
  apiKey: number,
  apiVersion: number,
  correlationId: number,
  clientId: string | null,
  body: object,
  w: Writer = new Writer(),
): Buffer[] {
  const codec = requestCodecs[apiKey];
  if (codec === undefined) throw new ProtocolEncodeError(`unknown API key ${apiKey}`);
  return encodeFrame(w, () => {
    encodeRequestHeader(w, apiKey, apiVersion, correlationId, clientId);
    codec.encode(w, apiVersion, body);
  });
}

/** A response frame; body is the encodable value of the API's response message. */
export function encodeResponseFrame(
  apiKey: number,
  apiVersion: number,
  correlationId: number,
  body: object,
  w: Writer = new Writer(),
): Buffer[] {
  const codec = responseCodecs[apiKey];
  if (codec === undefined) throw new ProtocolEncodeError(`unknown API key ${apiKey}`);
  return encodeFrame(w, () => {
    encodeResponseHeader(w, apiKey, apiVersion, correlationId);
    codec.encode(w, apiVersion, body);
  });
}
