// Ports the package's API picks for brokers started with port 0: outside the kernel's ephemeral
// range, where a client's outgoing connection could take the port as its source port before the
// broker binds it; free when handed out; and never the same one twice to one process.
import { readFileSync } from 'node:fs';
import net from 'node:net';
import t from 'tap';
import { freePort } from '../../src/api/ports.js';

const [ephemeralLow, ephemeralHigh] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number) as [number, number];

t.test('free ports lie outside the ephemeral range, are bindable, and are not handed out twice', async (t) => {
  const ports = await Promise.all(Array.from({ length: 40 }, () => freePort()));
  const inRange = ports.filter((p) => p >= ephemeralLow && p <= ephemeralHigh);
  t.same(inRange, [], `none of 40 ports lies in the ephemeral range ${ephemeralLow}-${ephemeralHigh}`);
  t.equal(new Set(ports).size, ports.length, 'forty ports asked for at once are forty different ports');
  const bound = await Promise.all(ports.map((port) => new Promise<boolean>((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  })));
  t.equal(bound.filter(Boolean).length, ports.length, 'each can be bound on 127.0.0.1');
});

