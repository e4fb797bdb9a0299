/**
 * The value model shared by every generated message codec.
 *
 * Decoding yields the message interface with every field present: a field that does not
 * exist in the decoded version holds its schema default. Encoding takes `Encodable<T>`:
 * every field optional (an absent field is written as its default), and wherever a
 * Buffer goes (bytes, records) a list of Buffers may go instead, so record data gathered
 * from several places reaches the socket without being joined first.
 */
import type { Reader } from './reader.js';
import type { Writer } from './writer.js';

export type Encodable<T> = T extends Buffer
  ? Buffer | Buffer[]
  : T extends readonly (infer U)[]
    ? readonly Encodable<U>[]
    : T extends object
      ? { readonly [K in keyof T]?: Encodable<T[K]> }
      : T;

export interface MessageCodec<T> {
  readonly apiKey: number;
  readonly name: string;
  decode(r: Reader, version: number): T;
  encode(w: Writer, version: number, value: Encodable<T>): void;
}

/** Kafka's Uuid.ZERO_UUID in its string form. */
export const ZERO_UUID = 'AAAAAAAAAAAAAAAAAAAAAA';

export const EMPTY_BYTES: Buffer = Buffer.alloc(0);

export const NO_ELEMENTS: readonly never[] = Object.freeze([]);

/** An absent struct on encode: every field takes its default. */
export const NO_FIELDS: Readonly<Record<string, never>> = Object.freeze({});
