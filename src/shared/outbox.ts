/**
 * The sending side of a ring with a queue in front: when the ring is full, messages wait in
 * order and go out as the consumer frees space. Never blocks the thread.
 */
import type { RingProducer } from './ring.js';
import { writeMessage, type ThreadMessage } from './thread-messages.js';

export class Outbox {
  private readonly queue: ThreadMessage[] = [];
  private waiting = false;

  constructor(private readonly ring: RingProducer) {}

  send(m: ThreadMessage): void {
    if (this.queue.length === 0 && writeMessage(this.ring, m)) return;
    this.queue.push(m);
    if (!this.waiting) void this.flushWhenSpace();
  }

  private async flushWhenSpace(): Promise<void> {
    this.waiting = true;
    while (this.queue.length > 0) {
      while (this.queue.length > 0 && writeMessage(this.ring, this.queue[0]!)) this.queue.shift();
      if (this.queue.length > 0) await this.ring.waitForSpace();
    }
    this.waiting = false;
  }
}
