/**
 * Random message values drawn from Kafka's schemas (the trimmed copy in
 * fixtures/schemas.json, written by tools/gen-codecs.mjs), for the round-trip and fuzz
 * tests. A value holds exactly the fields that exist in the chosen version.
 */
import { readFileSync } from 'node:fs';
import * as protocol from '../../src/shared/protocol/index.js';
import type { Reader, Writer } from '../../src/shared/protocol/index.js';

export interface FieldSchema {
  name: string;
  type: string;
  versions: string;
  nullableVersions?: string;
  taggedVersions?: string;
  tag?: number;
  default?: string;
  fields?: FieldSchema[];
}

export interface MessageSchema {
  name: string;
  apiKey?: number;
  type: string;
  validVersions: string;
  flexibleVersions?: string;
  fields: FieldSchema[];
  commonStructs?: { name: string; fields: FieldSchema[] }[];
}

export type Value = { [key: string]: unknown };

export const schemas: MessageSchema[] = JSON.parse(
  readFileSync(new URL('./fixtures/schemas.json', import.meta.url), 'utf8'),
) as MessageSchema[];

export function versionRange(s: string | undefined): [number, number] | null {
  if (s === undefined || s === 'none') return null;
  if (s.endsWith('+')) return [Number(s.slice(0, -1)), Number.POSITIVE_INFINITY];
  const dash = s.indexOf('-');
  if (dash > 0) return [Number(s.slice(0, dash)), Number(s.slice(dash + 1))];
  return [Number(s), Number(s)];
}

function inRange(s: string | undefined, version: number): boolean {
  const r = versionRange(s);
  return r !== null && version >= r[0] && version <= r[1];
}

export function validVersions(schema: MessageSchema): number[] {
  const [lo, hi] = versionRange(schema.validVersions)!;
  const out: number[] = [];
  for (let v = lo; v <= hi; v++) out.push(v);
  return out;
}

/** Seeded PRNG (mulberry32), so a failure can be replayed from its seed. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const CHARS = ['a', 'b', 'z', 'A', '0', '-', '_', '.', ' ', 'é', 'ß', '中', '🙂'];

export class ValueGenerator {
  constructor(
    private readonly random: () => number,
    private readonly schema: MessageSchema,
  ) {}

  private int(lo: number, hi: number): number {
    return lo + Math.floor(this.random() * (hi - lo + 1));
  }

  private structFields(f: FieldSchema): FieldSchema[] {
    if (f.fields) return f.fields;
    const name = f.type.replace('[]', '');
    const common = this.schema.commonStructs?.find((c) => c.name === name);
    if (!common) throw new Error(`${this.schema.name}: no struct ${name}`);
    return common.fields;
  }

  private scalar(type: string, f: FieldSchema, version: number): unknown {
    const r = this.random;
    switch (type) {
      case 'int8':
        return this.int(-128, 127);
      case 'int16':
        return this.int(-32768, 32767);
      case 'int32':
        return r() < 0.2 ? -1 : this.int(-2147483648, 2147483647);
      case 'uint16':
        return this.int(0, 65535);
      case 'uint32':
        return this.int(0, 4294967295);
      case 'int64':
        return r() < 0.2 ? -1 : r() < 0.5 ? this.int(0, 100000) : Math.floor((r() * 2 - 1) * Number.MAX_SAFE_INTEGER);
      case 'float64':
        return (r() - 0.5) * 1e9;
      case 'bool':
        return r() < 0.5;
      case 'uuid':
        return Buffer.from(Array.from({ length: 16 }, () => this.int(0, 255))).toString('base64url');
      case 'string': {
        const n = this.int(0, 12);
        let s = '';
        for (let i = 0; i < n; i++) s += CHARS[this.int(0, CHARS.length - 1)];
        return s;
      }
      case 'bytes':
      case 'records': {
        const n = r() < 0.05 ? this.int(1024, 4096) : this.int(0, 24);
        return Buffer.from(Array.from({ length: n }, () => this.int(0, 255)));
      }
      default:
        return this.struct(this.structFields(f), version);
    }
  }

  private field(f: FieldSchema, version: number): unknown {
    if (inRange(f.nullableVersions, version) && this.random() < 0.2) return null;
    if (f.type.startsWith('[]')) {
      const elem = f.type.slice(2);
      const n = this.int(0, 3);
      const out: unknown[] = [];
      for (let i = 0; i < n; i++) out.push(this.scalar(elem, f, version));
      return out;
    }
    return this.scalar(f.type, f, version);
  }

  struct(fields: FieldSchema[], version: number): Value {
    const out: Value = {};
    for (const f of fields) {
      if (inRange(f.versions, version)) out[f.name[0]!.toLowerCase() + f.name.slice(1)] = this.field(f, version);
    }
    return out;
  }

  message(version: number): Value {
    return this.struct(this.schema.fields, version);
  }
}

/** The fields of a decoded value that exist in the version, recursively. */
export function project(schema: MessageSchema, fields: FieldSchema[], version: number, value: Value): Value {
  const out: Value = {};
  for (const f of fields) {
    if (!inRange(f.versions, version)) continue;
    const key = f.name[0]!.toLowerCase() + f.name.slice(1);
    const v = value[key];
    const elem = f.type.replace('[]', '');
    const isStruct = /^[A-Z]/.test(elem);
    if (!isStruct || v === null) out[key] = v;
    else {
      const sub = f.fields ?? schema.commonStructs!.find((c) => c.name === elem)!.fields;
      out[key] = Array.isArray(v)
        ? v.map((e: Value) => project(schema, sub, version, e))
        : project(schema, sub, version, v as Value);
    }
  }
  return out;
}

export interface Codec {
  decode(r: Reader, version: number): Value;
  encode(w: Writer, version: number, value: Value): void;
}

export function codecFor(name: string): Codec {
  const lib = protocol as unknown as Record<string, unknown>;
  return {
    decode: lib[`decode${name}`] as Codec['decode'],
    encode: lib[`encode${name}`] as Codec['encode'],
  };
}
