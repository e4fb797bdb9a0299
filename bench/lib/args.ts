/** Command-line values shared by the benches. */

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
