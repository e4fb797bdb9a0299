/** Command-line values shared by the benches. */

/**
 * The produce-throughput matrix and load shape: the same flags and defaults in every bench that
 * runs it. 25 requests in flight per connection, because fewer do not saturate a broker that
 * fsyncs before acks=all (bench/README.md has the figures).
 */
export const throughputOptions = {
  'record-sizes': { type: 'string', default: '100,1024' },
  partitions: { type: 'string', default: '1,6,24' },
  acks: { type: 'string', default: '0,1,all' },
  'batch-bytes': { type: 'string', default: '16384' },
  connections: { type: 'string', default: '4' },
  'in-flight': { type: 'string', default: '25' },
  threads: { type: 'string', default: '1' },
} as const;

export function numberList(s: string): number[] {
  return s.split(',').map((x) => {
    const n = Number(x.trim());
    if (!Number.isFinite(n)) throw new Error(`not a number: ${x}`);
    return n;
  });
}

/** acks as given on the command line: 0, 1, all or -1. */
export function acksList(s: string): number[] {
  return s.split(',').map((x) => (x.trim() === 'all' ? -1 : Number(x)));
}

/** key=value pairs, comma-separated. */
export function keyValues(s: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of s.split(',').filter(Boolean)) {
    const i = kv.indexOf('=');
    if (i < 0) throw new Error(`expected key=value: ${kv}`);
    out[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return out;
}
