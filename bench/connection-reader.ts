// Micro-benchmark of a client connection's read side on the main thread: bytes as the socket
// delivers them, cut into request frames and handed to the dispatcher with a response slot.
// The socket is a stand-in that only delivers chunks, so what is timed is the connection
// itself (frame cutting, slots, the in-order response queue), not the kernel. Rates are per
// CPU second of the bench process.
//
//   npm run build && npm run bench:build
//   node dist-bench/bench/connection-reader.js [seconds-per-case]
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { pino } from 'pino';
import { Connection } from '../src/main/connection.js';
import { RequestMetrics } from '../src/main/request-metrics.js';

const seconds = Number(process.argv[2] ?? 1);

/** What Connection calls on its socket; nothing is written (requests complete with no response). */
class StandInSocket extends EventEmitter {
  remoteAddress = '127.0.0.1';
  remotePort = 1;
  setNoDelay(): void {}
  setTimeout(): void {}
  pause(): void {}
  resume(): void {}
  cork(): void {}
  uncork(): void {}
  write(): boolean {
    return true;
  }
  end(): void {}
  destroy(): void {}
}

/** A stream of `frames` frames of `frameBytes` each, cut into reads of `readBytes`. */
function reads(frameBytes: number, frames: number, readBytes: number): Buffer[] {
  const stream = Buffer.alloc((4 + frameBytes) * frames, 7);
  for (let i = 0; i < frames; i++) stream.writeInt32BE(frameBytes, i * (4 + frameBytes));
  const out: Buffer[] = [];
  for (let at = 0; at < stream.length; at += readBytes) out.push(stream.subarray(at, at + readBytes));
  return out;
}

async function run(name: string, frameBytes: number, readBytes: number): Promise<void> {
  // One round is at most 512 frames, under the connection's in-flight limit, then a turn of
  // the event loop so the completed slots leave the queue as they do on a live socket.
  const frames = Math.max(1, Math.min(512, Math.floor((256 * 1024) / (4 + frameBytes))));
  const round = reads(frameBytes, frames, readBytes);
  const socket = new StandInSocket();
  new Connection(socket as unknown as Socket, 'bench', 'User:ANONYMOUS', null, 100 * 1024 * 1024, 0, pino({ level: 'silent' }), new RequestMetrics(), (_f, slot) => slot.complete(null));
  const once = async (): Promise<void> => {
    for (const r of round) socket.emit('data', r);
    await new Promise((r) => setImmediate(r));
  };
  for (let i = 0; i < 200; i++) await once();
  // CPU time of this process, not wall time: on a shared machine the wall clock also counts
  // the time other processes held the cores.
  let rounds = 0;
  const start = process.cpuUsage();
  let used = 0;
  while (used < seconds * 1e6) {
    await once();
    rounds++;
    const u = process.cpuUsage(start);
    used = u.user + u.system;
  }
  const perSec = (rounds * frames) / (used / 1e6);
  console.log(`${name.padEnd(48)} ${Math.round(perSec).toLocaleString('en').padStart(10)} frames/CPU-s ${((perSec * (4 + frameBytes)) / 2 ** 20).toFixed(0).padStart(6)} MiB/CPU-s`);
}

await run('100 B frames, 64 KiB reads', 100, 64 * 1024);
await run('16 KiB frames, 64 KiB reads (split frames)', 16 * 1024, 64 * 1024);
await run('16 KiB frames, one read each', 16 * 1024, 16 * 1024 + 4);
await run('64 KiB frames, 1460 B reads (every frame split)', 64 * 1024, 1460);
