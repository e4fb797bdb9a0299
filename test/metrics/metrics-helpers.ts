/** Reading a broker's /metrics the way a Prometheus server would, one sample at a time. */

export async function scrape(port: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  return res.text();
}

/** The value of the sample `name{labels}` (labels as written, e.g. 'topic="t"'), 0 when absent. */
export function value(text: string, name: string, labels = ''): number {
  const escaped = `${name}${labels ? `{${labels}}` : ''}`.replace(/[{}+.]/g, (c) => `\\${c}`);
  const m = new RegExp(`^${escaped} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}
