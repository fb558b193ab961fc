import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP relay in front of a real Redis that counts round trips: a "turn" starts each time the
 * client sends bytes after it has received a reply (or for the first time). Replies are held
 * back `latencyMs`, so anything a client writes before seeing a reply is in the same turn
 * (even if TCP splits a pipeline into several chunks), while a client that waits for a reply
 * before sending its next command necessarily starts a second turn.
 */
export class RoundTripProxy {
  turns = 0;
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  /** Connections that sent bytes and have not been answered yet. */
  private readonly waiting = new Set<Socket>();
  /** Replies held back, not yet passed on. */
  private held = 0;
  port = 0;

  constructor(
    private readonly upstreamPort: number,
    private readonly latencyMs = 30,
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.server = createServer((client) => {
      const upstream = connect(this.upstreamPort, '127.0.0.1');
      this.sockets.add(client).add(upstream);
      client.on('data', (buf) => {
        if (!this.waiting.has(client)) this.turns++;
        this.waiting.add(client);
        upstream.write(buf);
      });
      upstream.on('data', (buf) => {
        this.held++;
        setTimeout(() => {
          this.held--;
          this.waiting.delete(client);
          if (!client.destroyed) client.write(buf);
        }, this.latencyMs);
      });
      const close = () => {
        this.waiting.delete(client);
        client.destroy();
        upstream.destroy();
      };
      client.on('close', close).on('error', close);
      upstream.on('close', close).on('error', close);
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    const addr = this.server.address();
    this.port = typeof addr === 'object' && addr ? addr.port : 0;
  }

  /** Counts turns taken by `fn` (the caller must be otherwise idle). */
  async count(fn: () => Promise<unknown>): Promise<number> {
    // Every earlier exchange finished first, so none of it opens a turn of its own.
    for (const deadline = Date.now() + 5_000; this.held > 0 || this.waiting.size > 0; await new Promise((r) => setTimeout(r, 5))) {
      if (Date.now() > deadline) throw new Error('RoundTripProxy: earlier requests still unanswered');
    }
    const before = this.turns;
    await fn();
    return this.turns - before;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
